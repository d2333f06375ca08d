import { UsageError } from '../errors.js';
import { caretDisplay } from '../model/caret-display.js';

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
