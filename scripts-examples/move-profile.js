// Move users from one profile to another, keeping everything else.
// Run: usrun run scripts-examples/move-profile.js --filter 'profiles[short_name eq "aaa-01"]' \
//        --param from=aaa-01 --param to=aaa-02 --dry-run
const from = params.from;
const to = params.to;
if (!from || !to) throw new Error('pass --param from=SHORT_NAME --param to=SHORT_NAME');

const [removed, why] = user.profile_remove(from);
if (!removed) skip(why);
const [added, message] = user.profile_add(to);
console.log(message);
if (!added && !message.startsWith('user already has')) throw new Error(message);
