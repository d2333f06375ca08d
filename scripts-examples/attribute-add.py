# Seed example "attribute_add()", as the seed writes it: add a reply attribute (FreeRADIUS radreply).
# Twin of attribute-add.js.
# Run: usrun run scripts-examples/attribute-add.py --filter 'username sw "a"' --dry-run
updated, message = user.attribute_add(
    attr='Username',
    value="zequenze",
    operation='+='
)
print(updated, message)
