// Seed example "attribute_add()": add a reply attribute (FreeRADIUS radreply).
// Run: usrun run scripts-examples/attribute-add.js --filter 'username sw "a"' --dry-run
const [updated, message] = user.attribute_add({
  attr: 'Username',
  value: 'zequenze',
  operation: '+=',
});
console.log(updated, message);
