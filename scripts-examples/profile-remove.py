# Seed example "profile_remove()", as the seed writes it: remove a profile by id or by short name.
# Twin of profile-remove.js.
# Run: usrun run scripts-examples/profile-remove.py --filter 'profiles[short_name eq "aaa-01"]' --dry-run

# Remove profile by ID
updated, message = user.profile_remove(id=12)
print(updated, message)

# Remove profile by short name
updated, message = user.profile_remove(short_name="aaa-01")
print(updated, message)
