import { UsageError } from '../errors.js';

/** How much of a long filter the caret display shows around the error. */
const WINDOW = 100;
const LEAD = 40;

/**
 * A filter that does not parse or does not fit the fields it names. Exit 2 like every
 * `UsageError`; `message` already holds the caret display under the expression.
 */
export class FilterSyntaxError extends UsageError {
  /**
   * @param reason what is wrong, without the position (`unknown attribute "emial"`)
   * @param text the whole filter
   * @param position 0-based index of the offending text (`text.length` for "at the end")
   * @param length how many characters the caret underlines (at least 1)
   */
  constructor(
    readonly reason: string,
    readonly text: string,
    readonly position: number,
    readonly length: number,
  ) {
    super(`filter: ${reason} at column ${position + 1}\n${caretDisplay(text, position, length)}`);
  }
}

/** The filter on one line with `^^^` under `[position, position + length)`, both indented by 2. */
function caretDisplay(text: string, position: number, length: number): string {
  // Same-length replacement keeps columns aligned and keeps terminal escapes out of the message.
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
