import { randomBytes } from 'node:crypto';
import type { StoreDriver } from './driver.js';

/**
 * Tries, on a scratch table of a random name, every kind of DDL the migrations use (the
 * dialect's `ddlProbeSql`; nothing where DDL is transactional), and throws the first error: a
 * missing privilege then stops `usrun init` before any migration wrote anything. The scratch
 * table is dropped however the probe ends (its first statement showed DROP is allowed).
 */
export async function probeDdl(store: StoreDriver): Promise<void> {
  const probe = store.capabilities.ddlProbeSql;
  if (!probe) return;
  const table = `usrun_probe_${randomBytes(5).toString('hex')}`;
  try {
    for (const statement of probe(table)) await store.query(statement);
  } finally {
    // Its triggers go with it. Nothing to do when the probe got to its end, or never created it.
    await store.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
  }
}
