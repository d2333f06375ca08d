/**
 * What `usrun init` tries on a scratch table before migrating a MariaDB/MySQL database, whose
 * DDL commits statement by statement: a user lacking one of these privileges would otherwise
 * leave the database half-migrated. The same kinds of statement as the migrations: a table with
 * a foreign key (REFERENCES on MySQL 8), an index, an added column (ALTER), a trigger (TRIGGER;
 * SUPER or log_bin_trust_function_creators with binary logging). DROP comes first, on the table
 * that is not there yet, so that whatever follows can be removed again.
 */
export function mysqlDdlProbe(table: string, tableSuffix: string): readonly string[] {
  return [
    `DROP TABLE IF EXISTS ${table}`,
    `CREATE TABLE ${table} (id integer PRIMARY KEY, parent integer, FOREIGN KEY (parent) REFERENCES ${table} (id)) ${tableSuffix}`,
    `CREATE INDEX ${table}_idx ON ${table} (parent)`,
    `ALTER TABLE ${table} ADD COLUMN version integer NOT NULL DEFAULT 1`,
    `CREATE TRIGGER ${table}_trg BEFORE UPDATE ON ${table} FOR EACH ROW SET NEW.version = OLD.version + 1`,
    `DROP TRIGGER ${table}_trg`,
    `DROP TABLE ${table}`,
  ];
}
