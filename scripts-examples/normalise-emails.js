// Normalise email addresses: trim and lower-case them.
// Run: usrun run scripts-examples/normalise-emails.js --filter 'email pr' --dry-run
if (user.email === null) skip('no email');
const clean = user.email.trim().toLowerCase();
if (clean !== user.email) user.email = clean;
