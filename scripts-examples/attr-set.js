// Seed example "UserAttr.set": create a user attribute, or update it if the user already has one
// of that name (an upsert). Optional third and fourth arguments: seconds until it expires, and
// whether to store it encrypted (see attr-set-many.js).
// Run: usrun run scripts-examples/attr-set.js --filter 'klass eq "residential"' --dry-run

// Information about the attribute to be set
const name = 'my-attribute';
const value = 'my-value';

// Create a new attribute (in the seed: user.attr.set(name, value))
user.attr.set(name, value);
