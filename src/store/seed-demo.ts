import { UsageError } from '../errors.js';
import type { SqlStatement, SqlValue, StoreDriver } from './driver.js';
import { writeAll } from './writer.js';

export interface SeedDemoOptions {
  /** PRNG seed; by default derived from the count, so a given count always yields the same users. */
  seed?: number | undefined;
  /**
   * The moment the data is relative to (joined two years ago at most, idle N days…); defaults to
   * the current time so filters like `last_login lt "-90d"` always find users. It only shifts
   * timestamps: the generated sequence does not depend on it.
   */
  now?: Date | undefined;
}

/** What `seedDemo` added. */
export interface SeedDemoResult {
  users: number;
  /** Demo profiles created now (0 when they already existed). */
  profiles: number;
}

export const DEMO_PROFILES = [
  { short_name: 'aaa-01', name: 'Basic 10 Mbps', description: 'Entry residential plan' },
  { short_name: 'aaa-02', name: 'Standard 50 Mbps', description: 'Residential plan' },
  { short_name: 'silver', name: 'Silver 200 Mbps', description: 'Residential and small business' },
  { short_name: 'gold', name: 'Gold 1 Gbps', description: 'Premium fibre plan' },
  { short_name: 'staff', name: 'Staff', description: 'Employees, unmetered' },
  { short_name: 'guest-wifi', name: 'Guest Wi-Fi', description: 'Captive-portal guests, 2 h sessions' },
] as const;

type ProfileName = (typeof DEMO_PROFILES)[number]['short_name'];

// prettier-ignore
const FIRST_NAMES = [
  'José', 'Zoë', 'Łukasz', 'Renée', 'Søren', 'Zoltán', 'Chloé', 'François', 'Björn', 'Márta', 'Jürgen',
  'Ana', 'Mei', 'Hiroshi', 'Aisha', 'Olga', 'Priya', 'Mohammed', 'Emma', 'Liam', 'Olivia', 'Noah',
  'Sofia', 'Mateo', 'Isabella', 'Lucas', 'Amelia', 'Ethan', 'Mia', 'James', 'Charlotte', 'Benjamin',
  'Fatima', 'Kwame', 'Ingrid', 'Dmitri', 'Nadia', 'Pedro', 'Yuki', 'Chen', 'Ravi', 'Siobhán', 'Tomás',
  'Agnieszka', 'Omar', 'Lena', 'Henrik', 'Camille',
];

// prettier-ignore
const LAST_NAMES = [
  'García', 'Müller', 'Nowak', 'Kowalski', 'Smith', "O'Brien", 'Dubois', 'Rossi', 'Jensen', 'Novák',
  'Silva', 'Yılmaz', 'Nguyen', 'Kim', 'Tanaka', 'Ivanova', 'Johansson', 'Fernández', 'Brown', 'Wilson',
  'Taylor', 'Martin', 'Lefèvre', 'Schäfer', 'Kovačević', 'Horváth', 'Papadopoulos', 'Andersen',
  'Costa', 'Murphy', 'Singh', 'Patel', 'Okafor', 'Mensah', 'Cohen', 'Virtanen', 'Ramírez', 'Wójcik',
  'Larsen', 'de Vries', 'Van Dijk', 'Chen', 'Walker', 'Hughes', 'Moreau', 'Bianchi', 'Öztürk', 'Ahmed',
];

const DOMAINS = ['example.com', 'example.net', 'example.org', 'mail.example', 'isp.example'];

const NOTES = [
  'Moved to the new building in March',
  'Asked for a static IP',
  'VIP customer: call before suspending',
  'Router replaced under warranty',
  'Prefers contact by email',
];

const DAY = 86_400_000;

/** Users per transaction: big enough to amortize the commit, small enough to keep memory flat. */
const USERS_PER_BATCH = 10_000;

/** Rows per multi-row INSERT; all full groups share one cached prepared statement. */
const ROWS_PER_INSERT = 100;

/**
 * Adds `count` generated users (and the demo profiles, when missing) for demos, tests and the
 * benchmark. Deterministic for a given count (or seed) and `now`. The users look like an ISP's:
 * mixed-case and missing emails, a few shared ones, idle and never-logged-in users, expired
 * accounts, RADIUS reply and check attributes, and `user.attr` values including expired ones.
 */
export async function seedDemo(
  store: StoreDriver,
  count: number,
  options: SeedDemoOptions = {},
): Promise<SeedDemoResult> {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new UsageError(`--demo ${count}: give a whole number of users (0 or more)`);
  }
  const now = (options.now ?? new Date()).getTime();
  const rand = mulberry32(options.seed ?? Math.imul(count ^ 0x5eed, 0x9e3779b1));
  const profiles = await ensureProfiles(store);

  const [top] = await store.query<{ max_id: number | null; users: number }>(
    'SELECT MAX(obj_id) AS max_id, COUNT(*) AS users FROM users',
  );
  const firstId = (top?.max_id ?? 0) + 1;
  // Only a database that already has users can clash with the generated usernames.
  const taken = new Set<string>();
  if ((top?.users ?? 0) > 0) {
    for (const { username } of await store.query<{ username: string }>('SELECT username FROM users')) {
      taken.add(username);
    }
  }

  const generator = new DemoGenerator(rand, now, profiles.ids, taken);
  let batch = new DemoBatch();
  for (let i = 0; i < count; i++) {
    generator.user(firstId + i, batch);
    if (batch.users.length === USERS_PER_BATCH) {
      await writeAll(store, batch.statements());
      batch = new DemoBatch();
    }
  }
  if (batch.users.length > 0) await writeAll(store, batch.statements());
  return { users: count, profiles: profiles.created };
}

/** Creates the demo profiles that do not exist yet; returns every demo profile's id. */
async function ensureProfiles(
  store: StoreDriver,
): Promise<{ created: number; ids: Record<ProfileName, number> }> {
  const before = await store.query<{ short_name: string }>('SELECT short_name FROM profiles');
  const existing = new Set(before.map((p) => p.short_name));
  const missing = DEMO_PROFILES.filter((p) => !existing.has(p.short_name));
  await writeAll(
    store,
    missing.map((p) => ({
      sql: 'INSERT INTO profiles (short_name, name, description) VALUES (?, ?, ?)',
      params: [p.short_name, p.name, p.description],
    })),
  );
  const rows = await store.query<{ id: number; short_name: string }>(
    `SELECT id, short_name FROM profiles WHERE short_name IN (${DEMO_PROFILES.map(() => '?').join(', ')})`,
    DEMO_PROFILES.map((p) => p.short_name),
  );
  const ids = Object.fromEntries(rows.map((r) => [r.short_name, r.id])) as Record<ProfileName, number>;
  return { created: missing.length, ids };
}

// prettier-ignore
const USER_COLUMNS = [
  'obj_id', 'username', 'username_length', 'first_name', 'last_name', 'email', 'external_id', 'klass',
  'is_active', 'date_joined', 'first_login', 'last_login', 'expiration', 'last_update', 'organization_id',
  'avatar_url', 'description',
];

/** The rows of one transaction, per table. */
class DemoBatch {
  readonly users: SqlValue[][] = [];
  readonly memberships: SqlValue[][] = [];
  readonly replies: SqlValue[][] = [];
  readonly checks: SqlValue[][] = [];
  readonly attrs: SqlValue[][] = [];

  statements(): SqlStatement[] {
    return [
      ...insertRows('users', USER_COLUMNS, this.users),
      ...insertRows('user_profiles', ['user_id', 'profile_id', 'priority'], this.memberships),
      ...insertRows('reply_attributes', ['user_id', 'attr', 'op', 'value'], this.replies),
      ...insertRows('check_attributes', ['user_id', 'attr', 'op', 'value'], this.checks),
      ...insertRows(
        'user_attrs',
        ['user_id', 'name', 'value', 'is_encrypted', 'expires_at', 'created_at', 'updated_at'],
        this.attrs,
      ),
    ];
  }
}

function insertRows(table: string, columns: readonly string[], rows: readonly SqlValue[][]): SqlStatement[] {
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  const statements: SqlStatement[] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    const group = rows.slice(i, i + ROWS_PER_INSERT);
    statements.push({
      sql: `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${group.map(() => tuple).join(', ')}`,
      params: group.flat(),
    });
  }
  return statements;
}

type Rand = () => number;

/** A small, fast, well-mixed 32-bit PRNG: the same seed gives the same sequence everywhere. */
function mulberry32(seed: number): Rand {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Lower-case ASCII for usernames and emails: "Łukasz" → "lukasz", "O'Brien" → "obrien". */
function asciiSlug(name: string): string {
  return name
    .replace(/[łŁ]/g, 'l')
    .replace(/[øØ]/g, 'o')
    .replace(/ı/g, 'i')
    .normalize('NFD')
    .replace(/[^A-Za-z]/g, '')
    .toLowerCase();
}

const SLUGS = new Map([...FIRST_NAMES, ...LAST_NAMES].map((name) => [name, asciiSlug(name)]));

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

const pad = (n: number) => (n < 10 ? `0${n}` : String(n));

/**
 * Draws every user from the PRNG in a fixed order. Timestamps are `now` minus drawn offsets, so
 * changing `now` shifts them without changing any draw.
 */
class DemoGenerator {
  private readonly emails = new Set<string>();
  private readonly recentEmails: string[] = [];
  private readonly dates = new Map<number, string>();

  constructor(
    private readonly rand: Rand,
    private readonly now: number,
    private readonly profiles: Record<ProfileName, number>,
    private readonly taken: Set<string>,
  ) {}

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.rand() * items.length)] as T;
  }

  private chance(p: number): boolean {
    return this.rand() < p;
  }

  private between(low: number, high: number): number {
    return low + this.rand() * (high - low);
  }

  /** `now` minus a duration, to the second. */
  private ago(ms: number): string {
    const at = this.now - Math.round(ms / 1000) * 1000;
    // Date#toISOString was the generator's main cost; the date part repeats, so format it once a day.
    const day = Math.floor(at / DAY);
    let date = this.dates.get(day);
    if (date === undefined) {
      date = new Date(day * DAY).toISOString().slice(0, 11);
      this.dates.set(day, date);
    }
    const t = at - day * DAY;
    const [hours, minutes, seconds] = [
      Math.floor(t / 3_600_000),
      Math.floor(t / 60_000) % 60,
      Math.floor(t / 1000) % 60,
    ];
    return `${date}${pad(hours)}:${pad(minutes)}:${pad(seconds)}.${String(t % 1000).padStart(3, '0')}Z`;
  }

  user(id: number, batch: DemoBatch): void {
    const first = this.pick(FIRST_NAMES);
    const last = this.pick(LAST_NAMES);
    const f = SLUGS.get(first) ?? asciiSlug(first);
    const l = SLUGS.get(last) ?? asciiSlug(last);
    let number = 1 + Math.floor(this.rand() * 99);
    let username = `${f}.${l}${number}`;
    // Draw-free, so a clash never changes the rest of the sequence.
    while (this.taken.has(username)) {
      number += 100;
      username = `${f}.${l}${number}`;
    }
    this.taken.add(username);

    const email = this.email(f, l, number);
    const klass = this.klass();
    const isActive = this.chance(0.85);

    // Offsets back from now; each derived one stays within its predecessor.
    const joinedAgo = this.between(0, 730) * DAY;
    const neverLoggedIn = this.chance(0.1);
    const firstLoginAgo = joinedAgo - Math.min(joinedAgo, this.between(0, 7) * DAY);
    const idle = this.chance(0.35) ? this.between(90, 400) * DAY : this.between(0, 90) * DAY;
    const lastLoginAgo = Math.min(firstLoginAgo, idle);
    const expirationRoll = this.rand();
    const expirationAgo = this.between(-365, 180) * DAY;
    const lastUpdateAgo = this.between(0, 1) * joinedAgo;
    const orgRoll = this.rand();
    const hasAvatar = this.chance(0.2);
    const description = this.chance(0.1) ? this.pick(NOTES) : null;

    batch.users.push([
      id,
      username,
      username.length,
      first,
      last,
      email,
      this.chance(0.9) ? `CRM-${String(id).padStart(6, '0')}` : null,
      klass,
      isActive ? 1 : 0,
      this.ago(joinedAgo),
      neverLoggedIn ? null : this.ago(firstLoginAgo),
      neverLoggedIn ? null : this.ago(lastLoginAgo),
      expirationRoll < 0.15 ? this.ago(expirationAgo) : null,
      this.ago(lastUpdateAgo),
      orgRoll < 0.25 ? null : ([10, 20, 30, 40][Math.floor(((orgRoll - 0.25) / 0.75) * 4)] ?? 40),
      hasAvatar ? `https://avatars.example/${username}.png` : null,
      description,
    ]);
    this.memberships(id, klass, batch);
    this.radius(id, klass, batch);
    this.attrs(id, joinedAgo, batch);
  }

  private email(f: string, l: string, number: number): string | null {
    const roll = this.rand();
    const domain = this.pick(DOMAINS);
    const pattern = this.rand();
    const shared = this.chance(0.01);
    if (roll < 0.04) return null;
    // A household or a company sharing one address: what makes an email match ambiguous.
    if (shared && this.recentEmails.length > 0) {
      return this.recentEmails[Math.floor(pattern * this.recentEmails.length)] ?? null;
    }
    let local =
      pattern < 0.5
        ? `${f}.${l}${number}`
        : pattern < 0.8
          ? `${f.charAt(0)}${l}${number}`
          : `${f}_${l}${number}`;
    if (this.emails.has(`${local}@${domain}`)) local = `${f}.${l}${number}`;
    let email = `${local}@${domain}`;
    this.emails.add(email);
    if (roll > 0.95) {
      email = `${local.split('.').map(capitalize).join('.')}@${capitalize(domain)}`;
    }
    this.recentEmails.push(email);
    if (this.recentEmails.length > 100) this.recentEmails.shift();
    return email;
  }

  private klass(): string {
    const roll = this.rand();
    return roll < 0.55 ? 'residential' : roll < 0.75 ? 'business' : roll < 0.8 ? 'staff' : 'guest';
  }

  private memberships(id: number, klass: string, batch: DemoBatch): void {
    const roll = this.rand();
    const primaryRoll = this.rand();
    const extraRoll = this.rand();
    const choices: Record<string, ProfileName[]> = {
      residential: ['aaa-01', 'aaa-01', 'aaa-02', 'aaa-02', 'silver', 'gold'],
      business: ['silver', 'gold', 'gold'],
      staff: ['staff'],
      guest: ['guest-wifi'],
    };
    const options = choices[klass] ?? ['aaa-01'];
    if (roll < 0.08) return;
    const primary = options[Math.floor(primaryRoll * options.length)] ?? 'aaa-01';
    batch.memberships.push([id, this.profiles[primary], 1]);
    if (roll > 0.83) {
      const extras: ProfileName[] = ['guest-wifi', 'silver', 'gold', 'aaa-02'];
      const extra = extras.filter((p) => p !== primary)[Math.floor(extraRoll * 3)] ?? 'guest-wifi';
      batch.memberships.push([id, this.profiles[extra], 2]);
    }
  }

  private radius(id: number, klass: string, batch: DemoBatch): void {
    const hasReply = this.chance(0.4);
    const timeout = this.pick(['3600', '7200', '28800', '86400']);
    const idleTimeout = this.chance(0.5) ? this.pick(['300', '600', '900']) : null;
    const rate = this.chance(0.5) ? this.pick(['10M/10M', '50M/20M', '200M/100M', '1G/500M']) : null;
    const hasCheck = this.chance(0.25);
    const maxDaily = this.chance(0.6);
    const simultaneous = this.pick(['1', '1', '2', '3']);
    if (hasReply) {
      batch.replies.push([id, 'Session-Timeout', ':=', klass === 'guest' ? '7200' : timeout]);
      if (idleTimeout) batch.replies.push([id, 'Idle-Timeout', ':=', idleTimeout]);
      if (rate) batch.replies.push([id, 'Mikrotik-Rate-Limit', ':=', rate]);
    }
    if (hasCheck) {
      if (maxDaily) batch.checks.push([id, 'Max-Daily-Session', '==', '14400']);
      batch.checks.push([id, 'Simultaneous-Use', ':=', simultaneous]);
    }
  }

  private attrs(id: number, joinedAgo: number, batch: DemoBatch): void {
    const createdAgo = this.between(0, 1) * joinedAgo;
    const created = this.ago(createdAgo);
    const updated = this.ago(this.between(0, 1) * createdAgo);
    const plan = this.chance(0.3) ? this.pick(['"basic"', '"standard"', '"silver"', '"gold"']) : null;
    const note = this.chance(0.05) ? JSON.stringify(this.pick(NOTES)) : null;
    const ticket = this.chance(0.05)
      ? JSON.stringify({ id: 1000 + Math.floor(this.rand() * 90_000), status: 'open' })
      : null;
    const promo = this.chance(0.02);
    const promoExpiredAgo = this.between(1, 60) * DAY;
    const trial = this.chance(0.03);
    const trialLeft = this.between(1, 30) * DAY;
    const row = (name: string, json: string, expiresAt: string | null): SqlValue[] => [
      id,
      name,
      json,
      0,
      expiresAt,
      created,
      updated,
    ];
    if (plan) batch.attrs.push(row('plan', plan, null));
    if (note) batch.attrs.push(row('notes', note, null));
    if (ticket) batch.attrs.push(row('last_ticket', ticket, null));
    if (promo) batch.attrs.push(row('promo', '"spring-bonus"', this.ago(promoExpiredAgo)));
    if (trial) batch.attrs.push(row('trial', 'true', this.ago(-trialLeft)));
  }
}
