# Seed example "check_attribute_add()", as the seed writes it: add a check attribute (radcheck).
# Twin of check-attribute-add.js.
# Run: usrun run scripts-examples/check-attribute-add.py --filter 'klass eq "guest"' --dry-run
updated, message = user.check_attribute_add(
    attr='Max-Daily-Session',
    value=4,
    operation='=='
)
print(updated, message)
