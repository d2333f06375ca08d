// Seed example "check_attribute_remove()": remove a check attribute row.
// Run: usrun run scripts-examples/check-attribute-remove.js --filter 'check_attributes[attr eq "Max-Daily-Session"]' --dry-run
const [updated, message] = user.check_attribute_remove({
  attr: 'Max-Daily-Session',
  value: 4,
  operation: '==',
});
console.log(updated, message);
