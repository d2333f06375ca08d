import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { FreeradiusTables } from '../../src/model/freeradius-tables.js';
import type { ItemResult } from '../../src/model/item-result.js';
import { type PlannedItem } from '../../src/run/commit-items.js';
import { commitPlanned } from '../../src/run/commit-planned.js';
import { listSource, type PlanStep } from '../../src/run/list-source.js';
import { planProfileEdit } from '../../src/run/plan-profile-edit.js';
import { planRadiusImport } from '../../src/run/plan-radius-import.js';
import { radiusImportSteps } from '../../src/run/radius-import-steps.js';
import { addRadiusRow } from '../../src/run/radius-row-edits.js';
import { RunControl } from '../../src/run/run-control.js';
import { readImportTarget } from '../../src/store/read-import-target.js';
import { dbQuery, withDb } from '../helpers/db.js';
import { DIALECTS, dropTestDbs, freshStore } from '../helpers/dialects.js';

/**
 * Other-writer safety for a profile's own rows (migration 0010_profile_versions): every write to
 * a profile or its radgroupreply/radgroupcheck rows moves `profiles.version`, whoever makes it,
 * and `profiles attr` and `radius import` write a profile's rows only while it is at the version
 * they were planned from — else the item is planned again from what is there now.
 */

afterAll(dropTestDbs);

describe.each(DIALECTS)('%s', (dialect) => {
  let db: string;

  beforeEach(async () => {
    db = await freshStore(dialect);
    await dbQuery(db, "INSERT INTO profiles (id, short_name, name) VALUES (1, 'gold', 'Gold')");
    await dbQuery(
      db,
      "INSERT INTO profile_reply_attributes (profile_id, attr, op, value) VALUES (1, 'Reply-Message', ':=', 'a')",
    );
  });

  const version = async () =>
    Number(
      (await dbQuery<{ version: unknown }>(db, 'SELECT version FROM profiles WHERE id = 1'))[0]?.version,
    );

  const replies = async () =>
    dbQuery<{ attr: string; op: string; value: string }>(
      db,
      'SELECT attr, op, value FROM profile_reply_attributes WHERE profile_id = 1 ORDER BY id',
    );

  /** Commits the steps as one journaled run through the one commit path; the items' results. */
  async function commit(steps: (again: boolean) => PlanStep[]): Promise<ItemResult[]> {
    const results: ItemResult[] = [];
    const control = new RunControl();
    await withDb(db, (store) =>
      commitPlanned(store, {
        run: { kind: 'profiles', scriptPath: 'gold', scriptText: 'test', selection: {}, params: {} },
        dryRun: false,
        source: () => listSource(steps(false), control),
        control,
        onItem: (item) => void results.push(item),
      }),
    );
    return results;
  }

  it("every write to a profile or its own rows moves its version, whoever makes it; members' do not", async () => {
    await dbQuery(db, "INSERT INTO users (obj_id, username, is_active) VALUES (5, 'u5', ?)", [true]);
    const steps: [string, boolean][] = [
      ["UPDATE profiles SET name = 'Gold!' WHERE id = 1", true],
      ["INSERT INTO profile_reply_attributes (profile_id, attr, op, value) VALUES (1, 'A', '=', '1')", true],
      ["UPDATE profile_reply_attributes SET value = '2' WHERE attr = 'A'", true],
      ["DELETE FROM profile_reply_attributes WHERE attr = 'A'", true],
      ["INSERT INTO profile_check_attributes (profile_id, attr, op, value) VALUES (1, 'B', '==', '1')", true],
      ['DELETE FROM profile_check_attributes WHERE profile_id = 1', true],
      ['INSERT INTO user_profiles (user_id, profile_id, priority) VALUES (5, 1, 1)', false],
      ['DELETE FROM user_profiles WHERE user_id = 5', false],
    ];
    for (const [statement, moves] of steps) {
      const before = await version();
      await dbQuery(db, statement);
      expect(await version(), statement).toBe(moves ? before + 1 : before);
    }
  });

  it('profiles attr plans again when another writer changed the rows after they were read', async () => {
    let plans = 0;
    const results = await commit(() => [
      async (again: boolean): Promise<PlannedItem> => {
        plans += 1;
        const { planned } = await withDb(db, (store) =>
          planProfileEdit(store, 'gold', 'reply', (label, rows) =>
            addRadiusRow(label, rows, { attr: 'Reply-Message', op: ':=', value: 'b' }),
          ),
        );
        // Another tool adds a row of the same attribute between the read and the commit:
        // `:=` must replace it too, so the edit planned from the old rows must not be written.
        if (!again) {
          await dbQuery(
            db,
            "INSERT INTO profile_reply_attributes (profile_id, attr, op, value) VALUES (1, 'Reply-Message', '+=', 'c')",
          );
        }
        return planned;
      },
    ]);
    expect(plans).toBe(2);
    expect(results.map((r) => r.status)).toEqual(['changed']);
    expect(await replies()).toEqual([{ attr: 'Reply-Message', op: ':=', value: 'b' }]);
  });

  it('fails a profile item whose rows keep changing, saying so, and writes none of it', async () => {
    let n = 0;
    const results = await commit(() => [
      async (): Promise<PlannedItem> => {
        const { planned } = await withDb(db, (store) =>
          planProfileEdit(store, 'gold', 'reply', (label, rows) =>
            addRadiusRow(label, rows, { attr: 'Idle-Timeout', op: '=', value: '600' }),
          ),
        );
        await dbQuery(db, `UPDATE profiles SET description = 'moved ${++n}' WHERE id = 1`);
        return planned;
      },
    ]);
    expect(results.map((r) => r.status)).toEqual(['failed']);
    expect(results[0]?.error?.message).toMatch(
      /someone else changed profile gold since it was read \(3 tries\)/,
    );
    expect(await replies()).toEqual([{ attr: 'Reply-Message', op: ':=', value: 'a' }]);
  });

  it('radius import plans a profile again when its rows changed after the import read them', async () => {
    const source: FreeradiusTables = {
      radcheck: [],
      radreply: [],
      radusergroup: [],
      radgroupcheck: [],
      radgroupreply: [{ key: 'gold', attr: 'Idle-Timeout', op: '=', value: '600' }],
      missing: [],
    };
    const target = await withDb(db, (store) => readImportTarget(store, source));
    const plan = planRadiusImport(source, target);
    expect(plan.rows).toHaveLength(1);
    let plans = 0;
    const results = await commit(() => {
      const steps = radiusImportSteps(
        source,
        plan,
        target,
        { query: (sql, params) => dbQuery(db, sql, params) },
        'now',
      );
      const first = steps[0];
      if (typeof first !== 'function') throw new Error('expected the profile step first');
      steps[0] = async (again: boolean) => {
        plans += 1;
        // Someone adds the very row the import planned to add, after the import read the profile.
        if (!again) {
          await dbQuery(
            db,
            "INSERT INTO profile_reply_attributes (profile_id, attr, op, value) VALUES (1, 'Idle-Timeout', '=', '600')",
          );
        }
        return first(again);
      };
      return steps;
    });
    expect(plans).toBe(2);
    expect(results.map((r) => r.status)).toEqual(['unchanged']);
    expect(await replies()).toEqual([
      { attr: 'Reply-Message', op: ':=', value: 'a' },
      { attr: 'Idle-Timeout', op: '=', value: '600' },
    ]);
  });
});
