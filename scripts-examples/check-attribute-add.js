// Seed example "check_attribute_add()": add a check attribute (FreeRADIUS radcheck).
// Run: usrun run scripts-examples/check-attribute-add.js --filter 'klass eq "guest"' --dry-run
const [updated, message] = user.check_attribute_add({
  attr: 'Max-Daily-Session',
  value: 4,
  operation: '==',
});
console.log(updated, message);
