# Seed example "attribute_remove()", as the seed writes it: remove a reply attribute row.
# Twin of attribute-remove.js.
# Run: usrun run scripts-examples/attribute-remove.py --filter 'attributes[attr eq "Username"]' --dry-run
updated, message = user.attribute_remove(
    attr='Username',
    value="zequenze",
    operation='+='
)
print(updated, message)
