// Seed example "attribute_remove()": remove a reply attribute row (attr, value, operator).
// Run: usrun run scripts-examples/attribute-remove.js --filter 'attributes[attr eq "Username"]' --dry-run
const [updated, message] = user.attribute_remove({
  attr: 'Username',
  value: 'zequenze',
  operation: '+=',
});
console.log(updated, message);
