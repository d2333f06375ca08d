// Seed example "profile_add()": add a profile by id or by short name.
// Run: usrun run scripts-examples/profile-add.js --filter 'klass eq "residential"' --dry-run

// Add profile by ID (in the seed: user.profile_add(id=12))
let [updated, message] = user.profile_add({ id: 12 });
console.log(updated, message);

// Add profile by short name (in the seed: user.profile_add(short_name="aaa-01"))
[updated, message] = user.profile_add({ short_name: 'aaa-01' });
console.log(updated, message);
