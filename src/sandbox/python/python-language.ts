import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ivm from 'isolated-vm';
import { InternalError } from '../../errors.js';
import { resolveChildPath } from '../resolve-child-path.js';
import type { ScriptRunner } from '../script-runner.js';
import { ScriptSyntaxError } from '../script-syntax-error.js';

/** For calls that run no script code (loading MicroPython, compiling). */
const CONTROL_TIMEOUT_MS = 10_000;
const MB = 1024 * 1024;
/** MicroPython's first garbage-collected heap; it grows (in wasm memory) up to the cap. */
const FIRST_HEAP_BYTES = 1 * MB;
/** The glue's `import.meta.url`: not a file URL, so it takes the path whose fetch we answer. */
const GLUE_URL = 'https://usrun.invalid/micropython.mjs';

/**
 * How `--memory` is shared in a Python isolate: wasm linear memory (MicroPython's heap) is not
 * counted by V8's heap limit, so half of it caps the wasm memory and the other half is the V8
 * heap limit. Together they never pass `--memory`.
 */
export function pythonMemory(memoryMb: number): { heapMb: number; wasmMb: number } {
  const wasmMb = Math.floor(memoryMb / 2);
  return { heapMb: memoryMb - wasmMb, wasmMb };
}

interface Assets {
  glue: string;
  wasm: ivm.ExternalCopy<Uint8Array>;
  bootstrap: string;
}
let assets: Assets | undefined;

/** The MicroPython glue and wasm bytes and the bridge's Python source, read once per process. */
function assetsOf(): Assets {
  if (assets === undefined) {
    const require = createRequire(import.meta.url);
    let entry: string;
    try {
      entry = require.resolve('@micropython/micropython-webassembly-pyscript');
    } catch {
      throw new InternalError('the package @micropython/micropython-webassembly-pyscript is not installed');
    }
    const glue = readFileSync(entry, 'utf8').replaceAll('import.meta.url', JSON.stringify(GLUE_URL));
    const wasm = new ivm.ExternalCopy(new Uint8Array(readFileSync(join(dirname(entry), 'micropython.wasm'))));
    const bootstrap = readFileSync(join(dirname(resolveChildPath()), 'python', 'usrun_bridge.py'), 'utf8');
    assets = { glue, wasm, bootstrap };
  }
  return assets;
}

/**
 * Python scripts: MicroPython (compiled to WebAssembly) started in the isolate, the script
 * compiled once, then run per user with fresh globals (prelude/python.ts, python/usrun_bridge.py).
 */
export const pythonLanguage: ScriptRunner = {
  heapMb: (memoryMb) => pythonMemory(memoryMb).heapMb,
  async prepare(isolate, context, setup, api) {
    const timeout = CONTROL_TIMEOUT_MS;
    const { glue, wasm, bootstrap } = assetsOf();
    const module = await isolate.compileModule(glue, { filename: '<usrun>/micropython.mjs' });
    module.instantiateSync(context, (specifier) => {
      throw new Error(`micropython.mjs may not import ${specifier}`);
    });
    await module.evaluate({ timeout });
    const load = module.namespace.getSync('loadMicroPython', { reference: true }) as ivm.Reference<unknown>;
    api('startPython').applySync(
      undefined,
      [
        load.derefInto(),
        wasm.copyInto({ release: false }),
        pythonMemory(setup.memoryMb).wasmMb * MB,
        FIRST_HEAP_BYTES,
        bootstrap,
        JSON.stringify(setup.params),
      ],
      { timeout },
    );
    load.release();
    const problem = api('pythonStarted').applySync(undefined, [], { timeout });
    if (typeof problem === 'string') throw new InternalError(`MicroPython did not start: ${problem}`);
    const error = api('compilePython').applySync(undefined, [setup.source, setup.filename], { timeout });
    if (typeof error === 'string' && error !== '') throw new ScriptSyntaxError(error);
    api('setPythonScript').applySync(undefined, [], { timeout });
  },
};
