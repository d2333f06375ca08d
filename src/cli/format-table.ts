import type { ChalkInstance } from 'chalk';

/** A plain aligned text table with a bold header (bold only where colors are on). */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  color: ChalkInstance,
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [color.bold(line(header)), ...rows.map(line)].join('\n') + '\n';
}
