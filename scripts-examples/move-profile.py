# Move users from one profile to another, keeping everything else. Twin of move-profile.js.
# Run: usrun run scripts-examples/move-profile.py --filter 'profiles[short_name eq "aaa-01"]' \
#        --param from=aaa-01 --param to=aaa-02 --dry-run
source = params.get('from')
target = params.get('to')
if not source or not target:
    raise ValueError('pass --param from=SHORT_NAME --param to=SHORT_NAME')

removed, why = user.profile_remove(source)
if not removed:
    skip(why)
added, message = user.profile_add(target)
print(message)
if not added and not message.startswith('user already has'):
    raise RuntimeError(message)
