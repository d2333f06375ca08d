# Seed example "check_attribute_remove()", as the seed writes it: remove a check attribute row.
# Twin of check-attribute-remove.js.
# Run: usrun run scripts-examples/check-attribute-remove.py --filter 'check_attributes[attr eq "Max-Daily-Session"]' --dry-run
updated, message = user.check_attribute_remove(
    attr='Max-Daily-Session',
    value=4,
    operation='=='
)
print(updated, message)
