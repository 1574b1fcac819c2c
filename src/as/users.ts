/**
 * Demo users for the login page, from a JSON file (data-dir/users.json, written on first start
 * with two demo users). Passwords are stored as scrypt hashes; the file is for demonstrations
 * and tests, not a user directory.
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export interface User {
  username: string;
  sub: string;
  name: string;
  email: string;
  /** Demo bank accounts shown by the sample resource. */
  accounts: Array<{ account_id: string; name: string; currency: string; balance: string }>;
}

interface StoredUser extends User {
  /** `scrypt$<salt b64url>$<hash b64url>` */
  password: string;
}

const DEMO_USERS: ReadonlyArray<{ username: string; password: string; name: string }> = [
  { username: 'alice', password: 'alice-demo-password', name: 'Alice Demo' },
  { username: 'bob', password: 'bob-demo-password', name: 'Bob Demo' },
];

function hashPassword(password: string): string {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('base64url')}$${scryptSync(password, salt, 32).toString('base64url')}`;
}

function checkPassword(stored: string, password: string): boolean {
  const [scheme, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = scryptSync(password.slice(0, 1024), Buffer.from(salt, 'base64url'), expected.length);
  return timingSafeEqual(expected, actual);
}

export class Users {
  private constructor(private readonly users: ReadonlyMap<string, StoredUser>) {}

  /** Reads the users file, writing the demo users there first when it does not exist. */
  static load(file: string): Users {
    if (!existsSync(file)) writeFileSync(file, JSON.stringify({ users: DEMO_USERS.map(demoUser) }, null, 2), { mode: 0o600 });
    const data = JSON.parse(readFileSync(file, 'utf8')) as { users?: StoredUser[] };
    if (!Array.isArray(data.users)) throw new Error(`${file}: expected {"users": [...]}`);
    return new Users(new Map(data.users.map((u) => [u.username, u])));
  }

  /** The user when the password is right; undefined otherwise (same work either way). */
  authenticate(username: string, password: string): User | undefined {
    const user = this.users.get(username);
    const ok = checkPassword(user?.password ?? DUMMY_HASH, password);
    return user && ok ? strip(user) : undefined;
  }

  bySub(sub: string): User | undefined {
    for (const u of this.users.values()) if (u.sub === sub) return strip(u);
    return undefined;
  }

  /** The user development mode logs in: the first one. */
  first(): User | undefined {
    const u = this.users.values().next().value as StoredUser | undefined;
    return u && strip(u);
  }
}

const DUMMY_HASH = hashPassword('not a password');

function strip(u: StoredUser): User {
  const { password: _password, ...user } = u;
  return user;
}

function demoUser(u: { username: string; password: string; name: string }, i: number): StoredUser {
  return {
    username: u.username, password: hashPassword(u.password), sub: `user-${u.username}`, name: u.name, email: `${u.username}@bank.example`,
    accounts: [
      { account_id: `${1000 + i * 10 + 1}`, name: 'Everyday', currency: 'AUD', balance: `${(1234.56 * (i + 1)).toFixed(2)}` },
      { account_id: `${1000 + i * 10 + 2}`, name: 'Savings', currency: 'AUD', balance: `${(98765.43 / (i + 1)).toFixed(2)}` },
    ],
  };
}
