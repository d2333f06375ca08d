// Seed example "profile_remove()": remove a profile by id or by short name.
// Run: usrun run scripts-examples/profile-remove.js --filter 'profiles[short_name eq "aaa-01"]' --dry-run

// Remove profile by ID (in the seed: user.profile_remove(id=12))
let [updated, message] = user.profile_remove({ id: 12 });
console.log(updated, message);

// Remove profile by short name (in the seed: user.profile_remove(short_name="aaa-01"))
[updated, message] = user.profile_remove({ short_name: 'aaa-01' });
console.log(updated, message);
