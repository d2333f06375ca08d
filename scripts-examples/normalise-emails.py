# Normalise email addresses: trim and lower-case them. Twin of normalise-emails.js.
# Run: usrun run scripts-examples/normalise-emails.py --filter 'email pr' --dry-run
if user.email is None:
    skip('no email')
clean = user.email.strip().lower()
if clean != user.email:
    user.email = clean
