// Deactivate users who have not logged in for 90 days (or never did, and joined over 90 days ago).
// Run: usrun run scripts-examples/deactivate-idle-users.js \
//        --filter 'is_active eq true and (last_login lt "-90d" or (last_login eq null and date_joined lt "-90d"))' --dry-run
const days = Number(params.days ?? 90);
const cutoff = Date.now() - days * 24 * 3600 * 1000;
const seen = user.last_login ?? user.date_joined;
if (!user.is_active) skip('already inactive');
if (seen && seen.getTime() >= cutoff) skip(`active within ${days} days`);

user.is_active = false;
user.description = `deactivated by usrun: idle since ${seen ? seen.toISOString().slice(0, 10) : 'ever'}`;
