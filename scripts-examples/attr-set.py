# Seed example "UserAttr.set", as the seed writes it: create a user attribute, or update it if the
# user already has one of that name. Optional: expiration=SECONDS, encrypt=True (see
# attr-set-many.py). Twin of attr-set.js.
# Run: usrun run scripts-examples/attr-set.py --filter 'klass eq "residential"' --dry-run

# Information about the attribute to be set
name = 'my-attribute'
value = 'my-value'

# Create a new attribute
user.attr.set(name, value)
