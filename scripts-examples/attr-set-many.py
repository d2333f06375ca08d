# Seed example "UserAttr.set_many", as the seed writes it: create or update several user
# attributes in one call; a key an entry leaves out takes the call's default,
# set_many(data, expiration=None, encrypt=False). my-attr2 is stored encrypted, so the run needs
# the attribute key (USRUN_KEY or --key-file, see attr-set-many.js); my-attr3 expires in an hour.
# Twin of attr-set-many.js.
# Run: usrun run scripts-examples/attr-set-many.py --filter 'klass eq "residential"' --dry-run

# Prepare a list of dictionaries with attributes to set
data = [
    {'name':'my-attr1', 'value':'my-value1'},
    {'name':'my-attr2', 'value':'my-value2', 'encrypt':True},
    {'name':'my-attr3', 'value':'my-value3', 'expiration':3600},
]

# Create new attributes
user.attr.set_many(data)
