import type { ItemResult } from '../model/item-result.js';

/** What a group collects: failures, rows not found, skips (with their reason), calls with no effect. */
export type GroupKind = 'failed' | 'not_found' | 'skipped' | 'no_effect';

/** Items that ended the same way: same kind, same message, same script location. */
export interface ItemGroup {
  kind: GroupKind;
  message: string;
  location?: string;
  count: number;
  /** The first few items of the group, as `whoOf` names them. */
  examples: string[];
}

/** Examples kept per group. */
export const GROUP_EXAMPLES = 3;
/** Distinct groups kept; items of any further kind are only counted (a message per user). */
const MAX_GROUPS = 1_000;

const ORDER: readonly GroupKind[] = ['failed', 'not_found', 'skipped', 'no_effect'];

/** The groups an item belongs to: one for its failure or skip, one per call with no effect. */
export function groupEntries(item: ItemResult): { kind: GroupKind; message: string; location?: string }[] {
  const entries: { kind: GroupKind; message: string; location?: string }[] = [];
  if (item.status === 'failed' || item.status === 'not_found' || item.status === 'skipped') {
    const message = item.error?.message ?? (item.status === 'skipped' ? '(no reason given)' : '');
    entries.push({
      kind: item.status,
      message,
      ...(item.error?.location ? { location: item.error.location } : {}),
    });
  }
  // A call repeated in a loop is one entry per item: the group counts users, not calls.
  const seen = new Set<string>();
  for (const note of item.notes ?? []) {
    const key = `${note.message}\u0000${note.location ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    entries.push({
      kind: 'no_effect',
      message: note.message,
      ...(note.location ? { location: note.location } : {}),
    });
  }
  return entries;
}

/**
 * Groups a run's items by how they ended (message and location), counting each group and
 * keeping a few examples, so 50,000 identical failures read as one line. Pure bookkeeping.
 */
export class ItemGroups {
  private readonly groups = new Map<string, ItemGroup>();
  /** Items whose group was not kept (more than MAX_GROUPS distinct messages), by kind. */
  readonly ungrouped: Record<GroupKind, number> = { failed: 0, not_found: 0, skipped: 0, no_effect: 0 };
  private noEffectItems = 0;

  /** Adds an item; returns, for each of its groups, the group and the item's place in it (1-based). */
  add(item: ItemResult, who: string): { group: ItemGroup; nth: number }[] {
    const added: { group: ItemGroup; nth: number }[] = [];
    const entries = groupEntries(item);
    if (entries.some((e) => e.kind === 'no_effect')) this.noEffectItems += 1;
    for (const entry of entries) {
      const key = `${entry.kind}\u0000${entry.message}\u0000${entry.location ?? ''}`;
      let group = this.groups.get(key);
      if (!group) {
        if (this.groups.size >= MAX_GROUPS) {
          this.ungrouped[entry.kind] += 1;
          continue;
        }
        group = { ...entry, count: 0, examples: [] };
        this.groups.set(key, group);
      }
      group.count += 1;
      if (group.examples.length < GROUP_EXAMPLES) group.examples.push(who);
      added.push({ group, nth: group.count });
    }
    return added;
  }

  /** The groups by kind (failures first), largest first within a kind. */
  list(): ItemGroup[] {
    return [...this.groups.values()].sort(
      (a, b) => ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind) || b.count - a.count,
    );
  }

  /** Items with at least one call with no effect (an item with two such calls counts once). */
  get noEffect(): number {
    return this.noEffectItems;
  }
}

const HEADINGS: Record<GroupKind, string> = {
  failed: 'failed',
  not_found: 'not found',
  skipped: 'skipped',
  no_effect: 'calls with no effect',
};

/**
 * The groups as text lines: a heading per kind, then `  12 × message (location)` with a few
 * example items and `… and N more like this`. At most `maxPerKind` groups per kind.
 */
export function formatGroups(
  groups: readonly ItemGroup[],
  ungrouped: Readonly<Record<GroupKind, number>>,
  style: { dim: (s: string) => string; heading: (kind: GroupKind, s: string) => string },
  options: {
    maxPerKind?: number;
    /** Items per kind when they are not the sum of its groups (an item with two no-effect calls). */
    items?: Partial<Record<GroupKind, number>>;
  } = {},
): string[] {
  const maxPerKind = options.maxPerKind ?? 10;
  const lines: string[] = [];
  for (const kind of ORDER) {
    const ofKind = groups.filter((g) => g.kind === kind);
    if (ofKind.length === 0 && ungrouped[kind] === 0) continue;
    const total = options.items?.[kind] ?? ofKind.reduce((n, g) => n + g.count, 0) + ungrouped[kind];
    const unit = kind === 'no_effect' ? 'user' : 'item';
    lines.push(style.heading(kind, `${HEADINGS[kind]} (${total} ${unit}${total === 1 ? '' : 's'}):`));
    for (const g of ofKind.slice(0, maxPerKind)) {
      const where = g.location ? style.dim(` (${g.location})`) : '';
      const more = g.count - g.examples.length;
      lines.push(`  ${g.count} × ${g.message}${where}`);
      lines.push(
        style.dim(`      e.g. ${g.examples.join('; ')}${more > 0 ? ` … and ${more} more like this` : ''}`),
      );
    }
    const restCount = ofKind.slice(maxPerKind).reduce((n, g) => n + g.count, 0) + ungrouped[kind];
    if (restCount > 0) lines.push(style.dim(`  … and ${restCount} more with other messages`));
  }
  return lines;
}
