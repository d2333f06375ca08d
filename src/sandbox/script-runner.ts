import type ivm from 'isolated-vm';
import type { SandboxSetup } from './protocol.js';

type Fn = ivm.Reference<(...args: any[]) => unknown>;

/** What the prelude's `init` returned: its functions, by name, as references. */
export type PreludeApi = (name: string) => Fn;

/**
 * How the sandbox process turns a script's (prepared) text into the function the prelude runs
 * for each user. Loaded in the sandbox process only.
 */
export interface ScriptRunner {
  /** The isolate's V8 heap limit for a `--memory` of `memoryMb` (the rest may go elsewhere). */
  heapMb(memoryMb: number): number;
  /**
   * Compiles `setup.source` in the isolate (after the prelude's `init`) and hands the prelude
   * its per-user function. A syntax error throws `ScriptSyntaxError` before any user runs.
   */
  prepare(isolate: ivm.Isolate, context: ivm.Context, setup: SandboxSetup, api: PreludeApi): Promise<void>;
}
