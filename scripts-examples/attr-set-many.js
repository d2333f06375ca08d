// Seed example "UserAttr.set_many": create or update several user attributes in one call. A key
// an entry leaves out takes the call's default: set_many(data, expiration, encrypt), here none.
// my-attr2 is stored encrypted (AES-256-GCM), so the run needs the attribute key, 32 bytes as hex
// or base64 in USRUN_KEY (or a file given with --key-file); keep it to read the value back later:
//   export USRUN_KEY=$(openssl rand -hex 32)
// my-attr3 expires an hour (3600 seconds) after the run.
// Run: usrun run scripts-examples/attr-set-many.js --filter 'klass eq "residential"' --dry-run

// Prepare a list of attributes to set
const data = [
  { name: 'my-attr1', value: 'my-value1' },
  { name: 'my-attr2', value: 'my-value2', encrypt: true },
  { name: 'my-attr3', value: 'my-value3', expiration: 3600 },
];

// Create new attributes (in the seed: user.attr.set_many(data))
user.attr.set_many(data);
