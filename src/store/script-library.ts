import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';
import type { StoreDriver } from './driver.js';

/** One version of a saved script. */
export interface SavedScript {
  readonly name: string;
  readonly version: number;
  /** Its language's key in SCRIPT_LANGUAGES (`js`, `ts`, …). */
  readonly language: string;
  readonly text: string;
  readonly sha256: string;
  /** ISO-8601 UTC. */
  readonly created_at: string;
  /** `os_user@host` of who added it. */
  readonly created_by: string;
}

/** A name in the library, with its newest version. */
export interface ScriptSummary {
  readonly name: string;
  readonly version: number;
  readonly versions: number;
  readonly language: string;
  readonly created_at: string;
  readonly created_by: string;
}

/** `name` or `name@version`, as written after `@` in `usrun run @name@2`. */
export interface ScriptRef {
  readonly name: string;
  /** null: the newest version. */
  readonly version: number | null;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Throws a `UsageError` (exit 2) unless `name` is a valid script name. */
export function checkScriptName(name: string): void {
  if (!NAME.test(name)) {
    throw new UsageError(
      `bad script name ${JSON.stringify(name)}: use 1 to 64 letters, digits, "_" or "-", starting with a letter or digit`,
    );
  }
}

/** `name`, `name@3` (and the same with a leading `@`) → a reference; a `UsageError` otherwise. */
export function parseScriptRef(text: string): ScriptRef {
  const bare = text.startsWith('@') ? text.slice(1) : text;
  const at = bare.lastIndexOf('@');
  const name = at < 0 ? bare : bare.slice(0, at);
  checkScriptName(name);
  if (at < 0) return { name, version: null };
  const v = bare.slice(at + 1);
  if (!/^[1-9]\d{0,8}$/.test(v)) {
    throw new UsageError(
      `bad script version ${JSON.stringify(v)} in ${JSON.stringify(text)}: a whole number ≥ 1`,
    );
  }
  return { name, version: Number(v) };
}

/** `@name@version`: how runs and messages name a saved script's version. */
export function scriptLabel(name: string, version: number): string {
  return `@${name}@${version}`;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Saves `text` as the next version of `name`, unless it is the newest version's text (and
 * language) already: then nothing is written and `created` is false. A name removed before goes
 * on from its last version number.
 */
export async function addScript(
  store: StoreDriver,
  input: { name: string; text: string; language: string; createdBy: string; now?: Date },
): Promise<{ script: SavedScript; created: boolean }> {
  checkScriptName(input.name);
  const db = store.db;
  try {
    return await db.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom('scripts')
        .selectAll()
        .where('name', '=', input.name)
        .orderBy('version', 'desc')
        .limit(1)
        .execute();
      const last = rows[0];
      const hash = sha256(input.text);
      if (last && last.removed_at === null && last.sha256 === hash && last.language === input.language) {
        const { removed_at: _removed, ...script } = last;
        return { script, created: false };
      }
      const script: SavedScript = {
        name: input.name,
        version: (last?.version ?? 0) + 1,
        language: input.language,
        text: input.text,
        sha256: hash,
        created_at: (input.now ?? new Date()).toISOString(),
        created_by: input.createdBy,
      };
      await trx
        .insertInto('scripts')
        .values({ ...script, removed_at: null })
        .execute();
      return { script, created: true };
    });
  } catch (error) {
    // Two admins adding a version of one name at the same moment: the key keeps them apart.
    if (store.capabilities.classifyError(error).kind === 'unique') {
      throw new UsageError(`script ${input.name} was changed by someone else just now: add it again`);
    }
    throw error;
  }
}

/** Every name in the library with its newest version, by name. */
export async function listScripts(store: StoreDriver): Promise<ScriptSummary[]> {
  const rows = await store.db
    .selectFrom('scripts')
    .select(['name', 'version', 'language', 'created_at', 'created_by'])
    .where('removed_at', 'is', null)
    .orderBy('name')
    .orderBy('version')
    .execute();
  const byName = new Map<string, ScriptSummary>();
  for (const r of rows) {
    const versions = (byName.get(r.name)?.versions ?? 0) + 1;
    byName.set(r.name, { ...r, versions });
  }
  return [...byName.values()];
}

/** A saved script's version (the newest when `ref.version` is null), or a `UsageError` naming it. */
export async function getScript(store: StoreDriver, ref: ScriptRef): Promise<SavedScript> {
  checkScriptName(ref.name);
  let query = store.db
    .selectFrom('scripts')
    .selectAll()
    .where('name', '=', ref.name)
    .orderBy('version', 'desc')
    .limit(1);
  if (ref.version !== null) query = query.where('version', '=', ref.version);
  const row = await query.executeTakeFirst();
  if (!row || row.removed_at !== null) {
    const live = await store.db
      .selectFrom('scripts')
      .select('version')
      .where('name', '=', ref.name)
      .where('removed_at', 'is', null)
      .orderBy('version')
      .execute();
    if (live.length === 0) {
      throw new UsageError(
        `no saved script ${ref.name}${row ? ' (it was removed)' : ''}: see \`usrun scripts list\``,
      );
    }
    throw new UsageError(
      `script ${ref.name} has no version ${ref.version}${row ? ' (it was removed)' : ''}: it has ${live.map((v) => v.version).join(', ')}`,
    );
  }
  const { removed_at: _removed, ...script } = row;
  return script;
}

/**
 * Removes a name from the library (all its versions; a `UsageError` when there is none). Runs
 * that ran it keep its name, version and text in the journal.
 */
export async function removeScript(store: StoreDriver, name: string, now = new Date()): Promise<number> {
  checkScriptName(name);
  const result = await store.db
    .updateTable('scripts')
    .set({ removed_at: now.toISOString() })
    .where('name', '=', name)
    .where('removed_at', 'is', null)
    .executeTakeFirst();
  const n = Number(result.numUpdatedRows);
  if (n === 0) throw new UsageError(`no saved script ${name}: see \`usrun scripts list\``);
  return n;
}
