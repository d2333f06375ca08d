// Set each user's Session-Timeout reply attribute from a CSV column.
// CSV (see timeouts.csv):  username,session_timeout
// Run: usrun run scripts-examples/session-timeout-from-csv.js --csv scripts-examples/timeouts.csv --dry-run
if (row === null) throw new Error('run this script with --csv');
const seconds = Number(row.session_timeout);
if (!Number.isInteger(seconds) || seconds <= 0) {
  throw new Error(`session_timeout must be a positive whole number of seconds, got "${row.session_timeout}"`);
}
const [updated, message] = user.attribute_add('Session-Timeout', seconds, ':=');
if (updated) console.log(message);
