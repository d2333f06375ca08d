/** Lines of context around each change, as `diff -u`. */
const CONTEXT = 3;
/** Above this many cells the line table would not fit comfortably in memory. */
const MAX_CELLS = 25_000_000;

type Op = { kind: ' ' | '-' | '+'; line: string };

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The edit script between two line lists: a longest common subsequence, after the common ends. */
function editScript(a: string[], b: string[]): Op[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const n = midA.length;
  const m = midB.length;
  const ops: Op[] = a.slice(0, start).map((line) => ({ kind: ' ', line }));
  if ((n + 1) * (m + 1) > MAX_CELLS) {
    // Too large to align line by line: all of the middle out, all of it in.
    for (const line of midA) ops.push({ kind: '-', line });
    for (const line of midB) ops.push({ kind: '+', line });
  } else {
    // lcs[i][j]: length of the LCS of midA[i..] and midB[j..].
    const width = m + 1;
    const lcs = new Uint32Array((n + 1) * width);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * width + j] =
          midA[i] === midB[j]
            ? (lcs[(i + 1) * width + j + 1] as number) + 1
            : Math.max(lcs[(i + 1) * width + j] as number, lcs[i * width + j + 1] as number);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && midA[i] === midB[j]) {
        ops.push({ kind: ' ', line: midA[i++] as string });
        j++;
      } else if (
        i < n &&
        (j === m || (lcs[(i + 1) * width + j] as number) >= (lcs[i * width + j + 1] as number))
      ) {
        // Lines out before lines in, as diff -u.
        ops.push({ kind: '-', line: midA[i++] as string });
      } else {
        ops.push({ kind: '+', line: midB[j++] as string });
      }
    }
  }
  for (const line of a.slice(endA)) ops.push({ kind: ' ', line });
  return ops;
}

function range(start: number, count: number): string {
  // As diff -u: an empty range names the line before it.
  const first = count === 0 ? start - 1 : start;
  return count === 1 ? `${first}` : `${first},${count}`;
}

/**
 * A unified diff (`diff -u` format, 3 lines of context) of two texts, labelled `fromLabel` and
 * `toLabel`; the empty string when they are equal.
 */
export function unifiedDiff(from: string, to: string, fromLabel: string, toLabel: string): string {
  if (from === to) return '';
  const ops = editScript(splitLines(from), splitLines(to));
  const changed = ops.map((op, k) => (op.kind === ' ' ? -1 : k)).filter((k) => k >= 0);
  let out = `--- ${fromLabel}\n+++ ${toLabel}\n`;
  if (changed.length === 0) {
    // Only the final newline differs.
    return `${out}\\ the texts differ only in their final newline\n`;
  }
  // Group changes whose contexts touch into hunks.
  const hunks: [number, number][] = [];
  for (const k of changed) {
    const last = hunks[hunks.length - 1];
    if (last && k - last[1] <= 2 * CONTEXT + 1) last[1] = k;
    else hunks.push([k, k]);
  }
  // Line numbers in each text at the start of every op.
  const aAt: number[] = [];
  const bAt: number[] = [];
  let la = 1;
  let lb = 1;
  for (const op of ops) {
    aAt.push(la);
    bAt.push(lb);
    if (op.kind !== '+') la++;
    if (op.kind !== '-') lb++;
  }
  for (const [first, last] of hunks) {
    const from0 = Math.max(0, first - CONTEXT);
    const to0 = Math.min(ops.length - 1, last + CONTEXT);
    const slice = ops.slice(from0, to0 + 1);
    const aCount = slice.filter((op) => op.kind !== '+').length;
    const bCount = slice.filter((op) => op.kind !== '-').length;
    out += `@@ -${range(aAt[from0] as number, aCount)} +${range(bAt[from0] as number, bCount)} @@\n`;
    for (const op of slice) out += `${op.kind}${op.line}\n`;
  }
  return out;
}
