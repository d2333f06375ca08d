# Deactivate users who have not logged in for 90 days (or never did, and joined over 90 days ago).
# Timestamps are datetimes in UTC. Twin of deactivate-idle-users.js.
# Run: usrun run scripts-examples/deactivate-idle-users.py \
#        --filter 'is_active eq true and (last_login lt "-90d" or (last_login eq null and date_joined lt "-90d"))' --dry-run
from datetime import datetime, timedelta, timezone

days = int(params.get('days', 90))
cutoff = datetime.now(timezone.utc) - timedelta(days=days)
seen = user.last_login or user.date_joined
if not user.is_active:
    skip('already inactive')
if seen and seen >= cutoff:
    skip('active within %d days' % days)

user.is_active = False
user.description = 'deactivated by usrun: idle since ' + (seen.date().isoformat() if seen else 'ever')
