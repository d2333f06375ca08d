// Give every guest account without an expiry one, N days from now (default 30), and say so in its
// description. TypeScript: usrun strips the types before the script runs (`usrun types` writes the
// declarations an editor needs to check it), and error locations point into this file.
// Run: usrun run scripts-examples/expire-guests.ts --filter 'klass eq "guest"' --param days=30 --dry-run

interface Plan {
  days: number;
  note: string;
}

const plan: Plan = { days: Number(params['days'] ?? '30'), note: 'guest account' };
if (!Number.isInteger(plan.days) || plan.days < 1) throw new Error(`--param days must be a whole number ≥ 1`);
if (user.expiration !== null) skip(`already expires ${user.expiration.toISOString()}`);

const until: Date = new Date(Date.now() + plan.days * 86_400_000);
user.expiration = until;
user.description = `${plan.note}: expires ${until.toISOString().slice(0, 10)}`;
console.log(`${user.username} expires ${until.toISOString().slice(0, 10)}`);
