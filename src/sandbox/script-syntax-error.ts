import { caretDisplay } from '../model/caret-display.js';

/**
 * The admin's script does not parse. The message is `file:line:col: SyntaxError: …`, with the
 * position in the admin's own file, then that line with a caret under the column.
 */
export class ScriptSyntaxError extends Error {
  override readonly name = 'ScriptSyntaxError';

  /**
   * From isolated-vm's compile error (`Unexpected token '=' [file:2:7]`) or a bare message. The
   * script is compiled inside a wrapper that adds a closing line; an error reported there (an
   * unclosed block) is moved to the end of the admin's file.
   */
  static from(error: unknown, filename: string, source: string): ScriptSyntaxError {
    const text = error instanceof Error ? error.message : String(error);
    const lines = source.split('\n');
    const lastLine = lines.length;
    const endCol = (lines[lastLine - 1] ?? '').length + 1;
    const m = /^([\s\S]*) \[.*:(\d+):(\d+)\]$/.exec(text);
    let what = m?.[1] ?? text.replace(/^SyntaxError: /, '');
    let line = m ? Math.max(1, Number(m[2])) : 1;
    let col = m ? Number(m[3]) : 1;
    if (line > lastLine) {
      what = 'Unexpected end of input';
      line = lastLine;
      col = endCol;
    }
    const display = caretDisplay(lines[line - 1] ?? '', Math.max(0, col - 1), 1);
    return new ScriptSyntaxError(`${filename}:${line}:${col}: SyntaxError: ${what}\n${display}`);
  }
}
