# Set each user's Session-Timeout reply attribute from a CSV column. Twin of
# session-timeout-from-csv.js.
# CSV (see timeouts.csv):  username,session_timeout
# Run: usrun run scripts-examples/session-timeout-from-csv.py --csv scripts-examples/timeouts.csv --dry-run
try:
    seconds = int(row['session_timeout'])
except ValueError:
    seconds = 0
if seconds <= 0:
    raise ValueError('session_timeout must be a positive whole number of seconds, got "%s"' % row['session_timeout'])
updated, message = user.attribute_add('Session-Timeout', seconds, ':=')
if updated:
    print(message)
