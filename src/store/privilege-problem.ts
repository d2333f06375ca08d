import { UsageError } from '../errors.js';
import type { DialectCapabilities } from './driver.js';

/**
 * A privilege the database user lacks, as a `UsageError` (exit 2) naming the database (its URL
 * without password), the server's own words (which name the privilege and the table) and what
 * usrun needs: `init` what `usrun init` needs, `use` what every other command needs. Null when
 * the error is not about privileges.
 */
export function privilegeProblem(
  error: unknown,
  capabilities: DialectCapabilities,
  location: string,
  stage: 'init' | 'use',
): UsageError | null {
  if (capabilities.classifyError(error).kind !== 'privileges') return null;
  const detail = error instanceof Error ? error.message : String(error);
  const needs =
    stage === 'init'
      ? `\`usrun init\` needs ${capabilities.initPrivileges}; nothing was written`
      : "usrun needs SELECT, INSERT, UPDATE and DELETE on usrun's tables (every command but init)";
  return new UsageError(`the database user lacks a privilege on ${location} (${detail}): ${needs}`);
}
