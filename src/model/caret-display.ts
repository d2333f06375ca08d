/** How much of a long line the caret display shows around the error. */
const WINDOW = 100;
const LEAD = 40;

/**
 * One line of text with `^^^` under `[position, position + length)`, both indented by 2: how a
 * filter or a script shows where its mistake is. Control characters show as spaces (columns
 * stay aligned, terminal escapes stay out); a long line is cut to a window around the mistake.
 */
export function caretDisplay(text: string, position: number, length: number): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f]/g, ' ');
  let start = 0;
  let end = flat.length;
  if (flat.length > WINDOW) {
    start = Math.max(0, Math.min(position - LEAD, flat.length - WINDOW));
    end = Math.min(flat.length, start + WINDOW);
  }
  const prefix = start > 0 ? '…' : '';
  const suffix = end < flat.length ? '…' : '';
  const underline = Math.max(1, Math.min(length, end + 1 - position));
  return `  ${prefix}${flat.slice(start, end)}${suffix}\n  ${' '.repeat(prefix.length + position - start)}${'^'.repeat(underline)}`;
}
