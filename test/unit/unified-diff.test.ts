import { describe, expect, it } from 'vitest';
import { unifiedDiff } from '../../src/model/unified-diff.js';

const lines = (n: number, f = (i: number) => `line ${i}`) =>
  Array.from({ length: n }, (_, i) => f(i + 1)).join('\n') + '\n';

describe('unifiedDiff', () => {
  it('is empty for equal texts', () => {
    expect(unifiedDiff('a\nb\n', 'a\nb\n', 'x', 'y')).toBe('');
  });

  it('writes hunks with 3 lines of context and diff -u ranges, lines out before lines in', () => {
    const a = lines(20);
    const b = lines(20, (i) => (i === 2 ? 'two' : i === 15 ? 'fifteen' : `line ${i}`));
    expect(unifiedDiff(a, b, 'a@1', 'a@2')).toBe(
      [
        '--- a@1',
        '+++ a@2',
        '@@ -1,5 +1,5 @@',
        ' line 1',
        '-line 2',
        '+two',
        ' line 3',
        ' line 4',
        ' line 5',
        '@@ -12,7 +12,7 @@',
        ' line 12',
        ' line 13',
        ' line 14',
        '-line 15',
        '+fifteen',
        ' line 16',
        ' line 17',
        ' line 18',
        '',
      ].join('\n'),
    );
  });

  it('joins changes whose contexts touch, and handles texts added from nothing', () => {
    const a = lines(10);
    const b = lines(10, (i) => (i === 3 || i === 9 ? `changed ${i}` : `line ${i}`));
    expect(unifiedDiff(a, b, 'a', 'b').match(/^@@/gm)).toHaveLength(1);
    expect(unifiedDiff('', 'x\ny\n', 'a', 'b')).toBe('--- a\n+++ b\n@@ -0,0 +1,2 @@\n+x\n+y\n');
    expect(unifiedDiff('x\n', '', 'a', 'b')).toBe('--- a\n+++ b\n@@ -1 +0,0 @@\n-x\n');
  });

  it('says so when only the final newline differs', () => {
    expect(unifiedDiff('a\n', 'a', 'a', 'b')).toBe(
      '--- a\n+++ b\n\\ the texts differ only in their final newline\n',
    );
  });
});
