import type { AttrWrite, RadiusAttribute, SandboxOutcome } from '../sandbox/protocol.js';
import type { StoredUser } from '../store/load-users.js';
import { findUserField, type UserField } from '../store/user-fields.js';
import type { Change, FieldValue, RadiusRow, StoredAttr } from '../model/change.js';
import {
  CHECK_OPS,
  REPLY_OPS,
  attrValueJson,
  parseIsoTimestamp,
  radiusValueProblem,
  textLength,
} from '../model/value-rules.js';

/** A change set the host refuses: the user fails with this message and nothing of it is written. */
export class RejectedChange extends Error {
  override readonly name = 'RejectedChange';
}

/** What planning needs besides the user: the profile catalog, the clock, and the cipher if any. */
export interface PlanContext {
  profiles: ReadonlyMap<number, { short_name: string }>;
  now: Date;
  /** Present when the run has a key; encrypting without one is rejected. */
  cipher: { encrypt(plaintext: string, aad: { userId: number; name: string }): string } | null;
}

const ATTR_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks one script-assigned field value and returns it normalized (timestamps to ISO UTC). */
export function validateFieldValue(field: UserField, value: unknown): FieldValue {
  const bad = (why: string) => new RejectedChange(`field ${field.name}: ${why}`);
  if (value === null) {
    if (!field.nullable) throw bad('cannot be null');
    return null;
  }
  switch (field.type) {
    case 'string': {
      if (typeof value !== 'string') throw bad(`expected a string, got ${typeof value}`);
      if (field.maxLength !== undefined && textLength(value) > field.maxLength) {
        throw bad(`longer than ${field.maxLength} characters`);
      }
      if (field.name === 'username' && value.trim() === '') throw bad('cannot be empty');
      return value;
    }
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw bad('expected an integer');
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw bad('expected true or false');
      return value;
    case 'timestamp': {
      const ms = typeof value === 'string' ? parseIsoTimestamp(value) : Number.NaN;
      if (!Number.isFinite(ms)) throw bad('expected an ISO-8601 timestamp');
      return new Date(ms).toISOString();
    }
  }
}

function planFields(stored: StoredUser, assigned: unknown): Change[] {
  if (assigned === undefined) return [];
  if (!isRecord(assigned)) throw new RejectedChange('fields: expected an object');
  const changes: Change[] = [];
  for (const [name, raw] of Object.entries(assigned)) {
    const field = findUserField(name);
    if (!field || field.name !== name) throw new RejectedChange(`unknown field ${JSON.stringify(name)}`);
    if (!field.writable) throw new RejectedChange(`field ${name} is read-only`);
    const after = validateFieldValue(field, raw);
    const before = stored.fields[name] ?? null;
    if (after !== before) changes.push({ kind: 'field', target: name, before, after });
  }
  return changes;
}

function planProfiles(stored: StoredUser, wanted: unknown, ctx: PlanContext): Change[] {
  if (wanted === undefined) return [];
  if (!Array.isArray(wanted)) throw new RejectedChange('profiles: expected a list');
  const current = new Map(stored.profiles.map((p) => [p.id, p]));
  const seen = new Set<number>();
  const changes: Change[] = [];
  for (const item of wanted) {
    if (!isRecord(item) || !Number.isSafeInteger(item['id']) || !Number.isSafeInteger(item['priority'])) {
      throw new RejectedChange('profiles: malformed membership');
    }
    const id = item['id'] as number;
    const priority = item['priority'] as number;
    if (seen.has(id)) throw new RejectedChange(`profiles: profile ${id} listed twice`);
    seen.add(id);
    const profile = ctx.profiles.get(id);
    if (!profile) throw new RejectedChange(`profiles: no profile with id ${id}`);
    const before = current.get(id);
    if (!before)
      changes.push({ kind: 'profile', target: profile.short_name, before: null, after: { id, priority } });
  }
  for (const p of stored.profiles) {
    if (!seen.has(p.id)) {
      changes.push({
        kind: 'profile',
        target: p.short_name,
        before: { id: p.id, priority: p.priority },
        after: null,
      });
    }
  }
  return changes;
}

/** Checks one reply or check row (name, operator for the kind, value ≤ 253 chars); throws `RejectedChange`. */
export function checkRadiusRow(kind: 'reply' | 'check', item: unknown): RadiusAttribute {
  if (!isRecord(item)) throw new RejectedChange(`${kind} attributes: malformed row`);
  const { id, attr, op, value } = item;
  if (id !== null && !Number.isSafeInteger(id))
    throw new RejectedChange(`${kind} attributes: malformed row id`);
  if (typeof attr !== 'string' || !ATTR_NAME.test(attr)) {
    throw new RejectedChange(`${kind} attributes: invalid attribute name ${JSON.stringify(attr)}`);
  }
  const ops = kind === 'reply' ? REPLY_OPS : CHECK_OPS;
  if (typeof op !== 'string' || !ops.includes(op)) {
    throw new RejectedChange(
      `${kind} attribute ${attr}: operator ${JSON.stringify(op)} is not one of ${ops.join(' ')}`,
    );
  }
  const problem = typeof value === 'string' ? radiusValueProblem(value) : 'value must be text';
  if (problem !== null) throw new RejectedChange(`${kind} attribute ${attr}: ${problem}`);
  return { id: id as number | null, attr, op, value: value as string };
}

function planRadius(kind: 'reply' | 'check', current: readonly RadiusRow[], wanted: unknown): Change[] {
  if (wanted === undefined) return [];
  if (!Array.isArray(wanted)) throw new RejectedChange(`${kind} attributes: expected a list`);
  const byId = new Map(current.map((r) => [r.id, r]));
  const kept = new Set<number>();
  const changes: Change[] = [];
  for (const item of wanted) {
    const row = checkRadiusRow(kind, item);
    if (row.id === null) {
      changes.push({ kind, target: row.attr, before: null, after: row });
      continue;
    }
    const before = byId.get(row.id);
    if (!before || kept.has(row.id)) throw new RejectedChange(`${kind} attributes: unknown row id ${row.id}`);
    kept.add(row.id);
    if (before.attr !== row.attr || before.op !== row.op) {
      // A kept row keeps its identity; anything else is a remove plus an add.
      changes.push({ kind, target: before.attr, before, after: null });
      changes.push({ kind, target: row.attr, before: null, after: { ...row, id: null } });
    } else if (before.value !== row.value) {
      changes.push({ kind, target: row.attr, before, after: row });
    }
  }
  for (const r of current) {
    if (r.id !== null && !kept.has(r.id)) changes.push({ kind, target: r.attr, before: r, after: null });
  }
  // Removals first: a `:=` that replaces rows must not see them twice.
  return changes.sort((a, b) => Number(a.after !== null) - Number(b.after !== null));
}

function expiresAt(expiration: unknown, now: Date): string | null {
  if (expiration === null) return null;
  if (typeof expiration !== 'number' || !Number.isFinite(expiration) || expiration <= 0) {
    throw new RejectedChange('attrs: expiration must be a positive number of seconds or null');
  }
  return new Date(now.getTime() + expiration * 1000).toISOString();
}

function planAttrs(stored: StoredUser, writes: unknown, ctx: PlanContext): Change[] {
  if (writes === undefined) return [];
  if (!isRecord(writes)) throw new RejectedChange('attrs: expected an object');
  const nowIso = ctx.now.toISOString();
  const rows = new Map(stored.attrs.map((a) => [a.name, a]));
  const changes: Change[] = [];
  for (const [name, w] of Object.entries(writes)) {
    if (name.length === 0 || name.length > 200)
      throw new RejectedChange('attrs: names are 1 to 200 characters');
    if (!isRecord(w)) throw new RejectedChange(`attr ${name}: malformed write`);
    const write = w as unknown as AttrWrite;
    const row = rows.get(name);
    const before: StoredAttr | null = row
      ? {
          value: row.value,
          is_encrypted: row.is_encrypted,
          expires_at: row.expires_at,
          created_at: row.created_at ?? nowIso,
          updated_at: row.updated_at ?? nowIso,
        }
      : null;
    const stamps = { created_at: before?.created_at ?? nowIso, updated_at: nowIso };
    const live = before !== null && (before.expires_at === null || before.expires_at > nowIso);
    let after: StoredAttr | null;
    if (write.op === 'delete') {
      if (!live) continue;
      after = null;
    } else if (write.op === 'expiry') {
      if (!live || !before) throw new RejectedChange(`attr ${name}: set_expiry on a missing attribute`);
      after = { ...before, expires_at: expiresAt(write.expiration, ctx.now), ...stamps };
    } else if (write.op === 'set') {
      if (typeof write.json !== 'string') throw new RejectedChange(`attr ${name}: value is not JSON text`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(write.json);
      } catch {
        throw new RejectedChange(`attr ${name}: value is not valid JSON`);
      }
      try {
        // The sandbox's rules again (size, depth): the same code, on what actually came out.
        attrValueJson(parsed, `attr ${name}: value`);
      } catch (e) {
        throw new RejectedChange(e instanceof Error ? e.message : String(e));
      }
      if (typeof write.encrypt !== 'boolean')
        throw new RejectedChange(`attr ${name}: encrypt must be a boolean`);
      let value = write.json;
      if (write.encrypt) {
        if (!ctx.cipher)
          throw new RejectedChange(`attr ${name}: encrypt needs a key (USRUN_KEY or --key-file)`);
        value = ctx.cipher.encrypt(write.json, { userId: stored.id, name });
      }
      after = {
        value,
        is_encrypted: write.encrypt,
        expires_at: expiresAt(write.expiration, ctx.now),
        ...stamps,
      };
      // Re-encrypting yields new ciphertext; an unchanged plaintext attr is no change at all.
      if (
        live &&
        before &&
        !write.encrypt &&
        !before.is_encrypted &&
        before.value === value &&
        before.expires_at === after.expires_at
      ) {
        continue;
      }
    } else {
      throw new RejectedChange(`attr ${name}: unknown write`);
    }
    changes.push({ kind: 'attr', target: name, before, after });
  }
  return changes;
}

/**
 * Turns what the sandbox says it did into the changes to write, checking every value again:
 * the sandbox is never trusted. Pure: data in, data out.
 */
export function planUserChanges(stored: StoredUser, outcome: SandboxOutcome, ctx: PlanContext): Change[] {
  const changes = [
    ...planFields(stored, outcome.fields),
    ...planProfiles(stored, outcome.profiles, ctx),
    ...planRadius('reply', stored.attributes, outcome.attributes),
    ...planRadius('check', stored.check_attributes, outcome.check_attributes),
    ...planAttrs(stored, outcome.attrs, ctx),
  ];
  const renamed = changes.find((c) => c.kind === 'field' && c.target === 'username');
  const length = renamed ? textLength(String(renamed.after)) : null;
  if (
    renamed &&
    !changes.some((c) => c.kind === 'field' && c.target === 'username_length') &&
    stored.fields['username_length'] !== length
  ) {
    // username_length follows username (as `users import` keeps it), unless the script set it.
    changes.push({
      kind: 'field',
      target: 'username_length',
      before: stored.fields['username_length'] ?? null,
      after: length,
      auto: true,
    });
  }
  if (changes.length > 0 && !changes.some((c) => c.kind === 'field' && c.target === 'last_update')) {
    changes.push({
      kind: 'field',
      target: 'last_update',
      before: stored.fields['last_update'] ?? null,
      after: ctx.now.toISOString(),
      auto: true,
    });
  }
  return changes;
}
