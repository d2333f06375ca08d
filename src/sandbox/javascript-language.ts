import type ivm from 'isolated-vm';
import type { ScriptRunner } from './script-runner.js';
import { ScriptSyntaxError } from './script-syntax-error.js';

/** For calls that run no script code. */
const CONTROL_TIMEOUT_MS = 10_000;

/** JavaScript scripts: the body of an async function, compiled in the isolate. */
export const javascriptLanguage: ScriptRunner = {
  heapMb: (memoryMb) => memoryMb,
  async prepare(isolate, context, setup, api) {
    const timeout = CONTROL_TIMEOUT_MS;
    let script: ivm.Script;
    try {
      // The body of an async function: `return` and `await` work, and strict mode makes
      // sealed-object writes throw. On its own first line, so lineOffset -1 keeps lines and
      // columns those of the file.
      script = await isolate.compileScript(`(async function () {"use strict";\n${setup.source}\n})`, {
        filename: setup.filename,
        lineOffset: -1,
      });
    } catch (e) {
      throw ScriptSyntaxError.from(e, setup.filename, setup.source);
    }
    // A body like "}); evil(); (async function () {" compiles inside the wrapper; the
    // AsyncFunction constructor parses it alone and refuses it. Checked before the wrapper runs.
    const problem = api('check').applySync(undefined, [setup.source], { timeout });
    if (typeof problem === 'string') {
      try {
        await isolate.compileScript(setup.source, { filename: setup.filename });
      } catch (e) {
        throw ScriptSyntaxError.from(e, setup.filename, setup.source);
      }
      throw ScriptSyntaxError.from(problem, setup.filename, setup.source);
    }
    const fn = (await script.run(context, { reference: true, timeout })) as ivm.Reference<unknown>;
    api('setScript').applySync(undefined, [fn.derefInto()], { timeout });
    script.release();
  },
};
