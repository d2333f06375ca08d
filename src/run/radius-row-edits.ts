import type { RadiusRow } from '../model/change.js';

/** A reply or check row as an admin gives it. */
export interface RadiusRowInput {
  attr: string;
  op: string;
  value: string;
}

/** The rows after an edit, whether anything changed, and what happened in words. */
export interface RadiusEdit {
  rows: RadiusRow[];
  updated: boolean;
  message: string;
}

const rowsText = (n: number) => (n === 1 ? '1 row' : `${n} rows`);

/**
 * Adds a row with the operator semantics of SPEC §4 (the same rules as the script's
 * `attribute_add`): `:=` replaces every row of the attribute; `=` adds only if the attribute is
 * absent; `+=` appends unless the identical row exists; a comparison operator sets the value of
 * the row with that attribute and operator, or adds it. Kept rows keep their ids; new ones have
 * id null. Pure: the caller validated the row and writes the result.
 */
export function addRadiusRow(label: string, rows: readonly RadiusRow[], x: RadiusRowInput): RadiusEdit {
  const desc = `${label} ${x.attr} ${x.op} ${x.value}`;
  const added = (next: RadiusRow[], suffix = ''): RadiusEdit => ({
    rows: next,
    updated: true,
    message: `${desc} added${suffix}`,
  });
  const same = (message: string): RadiusEdit => ({ rows: [...rows], updated: false, message });
  const fresh: RadiusRow = { id: null, attr: x.attr, op: x.op, value: x.value };
  if (x.op === ':=') {
    const keep = rows.findIndex((r) => r.attr === x.attr && r.op === ':=' && r.value === x.value);
    const others = rows.filter((r, i) => r.attr === x.attr && i !== keep).length;
    if (keep >= 0 && others === 0) return same(`${desc} already present`);
    const next = rows.filter((r, i) => r.attr !== x.attr || i === keep);
    if (keep < 0) next.push(fresh);
    return added(next, others > 0 ? ` (replaced ${rowsText(others)})` : '');
  }
  if (x.op === '=') {
    if (rows.some((r) => r.attr === x.attr)) return same(`${label} ${x.attr} already present`);
  } else if (x.op === '+=') {
    if (rows.some((r) => r.attr === x.attr && r.op === '+=' && r.value === x.value))
      return same(`${desc} already present`);
  } else {
    const matching = rows.filter((r) => r.attr === x.attr && r.op === x.op);
    const first = matching[0];
    if (first) {
      if (first.value === x.value && matching.length === 1) return same(`${desc} already present`);
      const next = rows
        .filter((r) => r === first || r.attr !== x.attr || r.op !== x.op)
        .map((r) => (r === first ? { ...r, value: x.value } : r));
      const dupes = matching.length - 1;
      return {
        rows: next,
        updated: true,
        message: `${desc} ${first.value === x.value ? 'kept' : `updated (was ${first.value})`}${dupes > 0 ? `, removed ${rowsText(dupes)}` : ''}`,
      };
    }
  }
  return added([...rows, fresh]);
}

/** Removes the rows with this attribute and value (and operator, when given). */
export function removeRadiusRows(
  label: string,
  rows: readonly RadiusRow[],
  x: { attr: string; value: string; op?: string | undefined },
): RadiusEdit {
  const hit = (r: RadiusRow) =>
    r.attr === x.attr && r.value === x.value && (x.op === undefined || r.op === x.op);
  const removed = rows.filter(hit);
  const op = x.op ?? (removed.length === 1 ? removed[0]?.op : undefined);
  const desc = `${label} ${x.attr} ${op !== undefined ? `${op} ` : ''}${x.value}`;
  if (removed.length === 0) return { rows: [...rows], updated: false, message: `${desc} not present` };
  return {
    rows: rows.filter((r) => !hit(r)),
    updated: true,
    message: `${desc} removed${removed.length > 1 ? ` (${rowsText(removed.length)})` : ''}`,
  };
}
