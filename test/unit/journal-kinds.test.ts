import { describe, expect, it } from 'vitest';
import { changeToJson, formatChangeLines } from '../../src/cli/format-change.js';
import { journalStatements } from '../../src/journal/item-statements.js';
import { planUndo } from '../../src/journal/plan-undo.js';
import type { Change } from '../../src/model/change.js';
import type { ItemResult } from '../../src/model/item-result.js';
import { changeStatements, userByName } from '../../src/store/change-statements.js';
import type { StoredUser } from '../../src/store/load-users.js';
import { groupRowChanges } from '../../src/store/profile-attributes.js';

const created: Change = {
  kind: 'user',
  target: 'bob',
  before: null,
  after: { username: 'bob', email: 'b@x', is_active: true, last_update: '2026-01-01T00:00:00.000Z' },
};
const addedRow: Change = {
  kind: 'check',
  target: 'Cleartext-Password',
  before: null,
  after: { id: null, attr: 'Cleartext-Password', op: ':=', value: 'pw' },
};

function bob(extra: Partial<StoredUser> = {}): StoredUser {
  return {
    id: 9,
    version: 3,
    fields: {
      obj_id: 9,
      username: 'bob',
      email: 'b@x',
      is_active: true,
      last_update: '2026-01-01T00:00:00.000Z',
    },
    profiles: [],
    attributes: [],
    check_attributes: [{ id: 40, attr: 'Cleartext-Password', op: ':=', value: 'pw' }],
    attrs: [],
    ...extra,
  };
}

describe('the journal kinds of imports', () => {
  it('diffs a created user with its fields, profiles and group rows; hides passwords; --json as journaled', () => {
    expect(formatChangeLines(created)).toEqual([
      '+ user bob',
      '  email: "b@x"',
      '  is_active: true',
      '  last_update: "2026-01-01T00:00:00.000Z"',
    ]);
    expect(formatChangeLines(addedRow)).toEqual(['+ check Cleartext-Password := <hidden>']);
    const group: Change = {
      kind: 'group',
      target: 'gold',
      before: null,
      after: { name: 'gold', description: null },
    };
    expect(formatChangeLines(group)).toEqual(['+ profile gold']);
    const row = { id: 3, attr: 'Session-Timeout', op: ':=', value: '3600' };
    expect(formatChangeLines({ kind: 'group_reply', target: 'gold', before: null, after: row })).toEqual([
      '+ group reply Session-Timeout := 3600',
    ]);
    expect(
      formatChangeLines({
        kind: 'group_check',
        target: 'gold',
        before: row,
        after: { ...row, value: '7200' },
      }),
    ).toEqual(['~ group check Session-Timeout := 3600 → 7200']);
    expect(changeToJson(created)).toEqual(created);
  });

  it('creates the user first and finds it by username in the same unit, values bound', () => {
    const statements = changeStatements(userByName("bob'--"), [created, addedRow], 'now');
    expect(statements[0]).toEqual({
      sql: 'INSERT INTO users (username, email, is_active, last_update) VALUES (?, ?, ?, ?)',
      params: ['bob', 'b@x', true, '2026-01-01T00:00:00.000Z'],
    });
    expect(statements[1]).toEqual({
      sql: 'INSERT INTO check_attributes (user_id, attr, op, value) VALUES ((SELECT obj_id FROM users WHERE username = ?), ?, ?, ?)',
      params: ["bob'--", 'Cleartext-Password', ':=', 'pw'],
    });
    const item: ItemResult = {
      seq: 4,
      user_id: null,
      username: 'bob',
      row: null,
      line: null,
      status: 'changed',
      changes: [created],
      logs: [],
      error: null,
    };
    const [runItem, runChanges] = journalStatements(1, [item], 'now');
    expect(runItem?.sql).toContain('VALUES (?, ?, (SELECT obj_id FROM users WHERE username = ?), ?');
    expect(runChanges?.params.slice(0, 4)).toEqual([1, 4, 0, 'bob']);
  });

  it('undoes a creation by deleting the user, unless it changed or gained something since', () => {
    const plain = planUndo({ user: bob(), profile: null }, [created, addedRow], false);
    expect(plain.conflicts).toEqual([]);
    expect(plain.changes.map((c) => [c.kind, c.before === null, c.after === null])).toEqual([
      ['check', false, true],
      ['user', false, true],
    ]);
    // The deletion journals the whole user, obj_id included: undoing the undo puts it back as it was.
    expect(plain.changes[1]?.before).toMatchObject({ obj_id: 9, username: 'bob' });

    const edited = planUndo(
      { user: bob({ fields: { ...bob().fields, email: 'new@x' } }), profile: null },
      [created, addedRow],
      false,
    );
    expect(edited.conflicts.map((c) => c.reason)).toEqual(['user bob was changed again since the run']);
    const gained = bob({ attributes: [{ id: 1, attr: 'Session-Timeout', op: ':=', value: '60' }] });
    expect(
      planUndo({ user: gained, profile: null }, [created, addedRow], false).conflicts.map((c) => c.reason),
    ).toEqual(['user bob has gained reply Session-Timeout since it was created']);
    // Gone already: nothing to do, no conflict.
    expect(planUndo({ user: null, profile: null }, [created, addedRow], false)).toEqual({
      changes: [],
      conflicts: [],
    });
  });

  it('plans a profile edit as row changes: removed, changed, added', () => {
    const current = [
      { id: 1, attr: 'A', op: ':=', value: '1' },
      { id: 2, attr: 'B', op: '=', value: '2' },
    ];
    const wanted = [
      { id: 2, attr: 'B', op: '=', value: '3' },
      { id: null, attr: 'C', op: '+=', value: '4' },
    ];
    expect(groupRowChanges('reply', 'gold', current, wanted)).toEqual([
      { kind: 'group_reply', target: 'gold', before: current[0], after: null },
      { kind: 'group_reply', target: 'gold', before: current[1], after: wanted[0] },
      { kind: 'group_reply', target: 'gold', before: null, after: wanted[1] },
    ]);
  });
});
