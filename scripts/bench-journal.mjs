// The journal rows the hand-written group-commit loops of `npm run bench` write per user: the
// changes usrun journals for the standard script, with before and after values of the size and
// shape usrun writes (src/journal/item-statements.ts), so the loops pay for journal-sized rows.

/** [kind, target] of each change, in usrun's order. */
export const CHANGES = [
  ['field', 'email'],
  ['profile', 'gold'],
  ['reply', 'Session-Timeout'],
  ['reply', 'Session-Timeout'],
  ['check', 'Max-Daily-Session'],
  ['attr', 'plan'],
];

/** The `before` and `after` JSON of each change of CHANGES for one user. */
export function changeValues(username, now) {
  const reply = (value) => JSON.stringify({ id: null, attr: 'Session-Timeout', op: ':=', value });
  return [
    [JSON.stringify(`${username}@mail.example`), JSON.stringify(`${username}@bench.example`)],
    [null, JSON.stringify({ id: 4, priority: 2 })],
    [reply('28800'), null],
    [null, reply('3600')],
    [null, JSON.stringify({ id: null, attr: 'Max-Daily-Session', op: '==', value: '14400' })],
    [
      null,
      JSON.stringify({
        value: JSON.stringify({ tier: 'gold', since: 2026 }),
        is_encrypted: false,
        expires_at: null,
        created_at: now,
        updated_at: now,
      }),
    ],
  ];
}
