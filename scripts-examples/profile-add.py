# Seed example "profile_add()", as the seed writes it: add a profile by id or by short name.
# Twin of profile-add.js (keyword arguments arrive as the JavaScript API's object form).
# Run: usrun run scripts-examples/profile-add.py --filter 'klass eq "residential"' --dry-run

# Add profile by ID
updated, message = user.profile_add(id=12)
print(updated, message)

# Add profile by short name
updated, message = user.profile_add(short_name="aaa-01")
print(updated, message)
