/**
 * The one error module. Commands throw these; only `src/cli/main.ts` turns them into exit codes.
 */

/** Bad usage or input: exit 2, and nothing has been written. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly exitCode = 2;
}

/** Ends the command with a given exit code after its output was already printed. */
export class ExitError extends Error {
  override readonly name = 'ExitError';
  constructor(
    readonly exitCode: number,
    message = `exit ${exitCode}`,
  ) {
    super(message);
  }
}

/**
 * The admin did not confirm at a `[y/N]` prompt: "no", an empty answer or Ctrl-D exit 1
 * (declined), Ctrl-C exits 130 (the shell's code for an interrupt). Nothing has been written.
 */
export class DeclinedError extends Error {
  override readonly name = 'DeclinedError';
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** A bug in usrun itself (never a user mistake): printed with its stack. */
export class InternalError extends Error {
  override readonly name = 'InternalError';
}
