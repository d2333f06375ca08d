import { describe, expect, it } from 'vitest';
import { formatGroups, ItemGroups } from '../../src/cli/item-groups.js';
import type { ItemResult } from '../../src/model/item-result.js';

const plain = { dim: (s: string) => s, heading: (_kind: unknown, s: string) => s };

function item(seq: number, notes: { message: string; location?: string }[]): ItemResult {
  return {
    seq,
    user_id: seq,
    username: `u${seq}`,
    row: null,
    line: null,
    status: 'unchanged',
    changes: [],
    logs: [],
    error: null,
    notes,
  };
}

describe('ItemGroups', () => {
  it('counts users with calls that had no effect, not calls: two different no-ops of one user are one user', () => {
    const groups = new ItemGroups();
    for (let seq = 1; seq <= 3; seq++) {
      groups.add(
        item(seq, [
          { message: 'no profile with id 12', location: 's.js:1:6' },
          { message: 'user already has profile gold', location: 's.js:2:6' },
        ]),
        `u${seq}`,
      );
    }
    groups.add(item(4, []), 'u4');
    expect(groups.noEffect).toBe(3);
    const lines = formatGroups(groups.list(), groups.ungrouped, plain, {
      items: { no_effect: groups.noEffect },
    });
    expect(lines[0]).toBe('calls with no effect (3 users):');
    expect(lines).toContain('  3 × no profile with id 12 (s.js:1:6)');
    expect(lines).toContain('  3 × user already has profile gold (s.js:2:6)');
  });
});
