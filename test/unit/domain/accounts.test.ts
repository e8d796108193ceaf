import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Accounts } from '../../../src/domain/accounts.js';
import { LoginThrottle } from '../../../src/domain/login-throttle.js';
import { hashPassword, verifyPassword } from '../../../src/domain/passwords.js';
import { SqliteMetadataStore } from '../../../src/metadata/embedded/sqlite-metadata-store.js';

describe('passwords', () => {
  it('verifies the right password only, with salted hashes', async () => {
    const a = await hashPassword('correct horse');
    const b = await hashPassword('correct horse');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(await verifyPassword('correct horse', a)).toBe(true);
    expect(await verifyPassword('correct hors', a)).toBe(false);
    expect(await verifyPassword('anything', 'garbage')).toBe(false);
  });
});

describe('login throttle', () => {
  it('refuses with 429 and Retry-After after the account budget, until the window passes', () => {
    let now = 0;
    const t = new LoginThrottle({ windowMs: 60_000, failuresPerAccount: 3, failuresPerIp: 100 }, () => now);
    for (let i = 0; i < 3; i++) t.recordFailure('arpit', '1.1.1.1');
    expect(() => t.check('arpit', '2.2.2.2')).toThrow(expect.objectContaining({ status: 429, headers: { 'Retry-After': '60' } }));
    expect(() => t.check('other', '2.2.2.2')).not.toThrow();
    now = 30_000;
    expect(() => t.check('arpit', '2.2.2.2')).toThrow(expect.objectContaining({ headers: { 'Retry-After': '30' } }));
  });

  it('limits one IP across accounts, and a success does not reset the IP', () => {
    const t = new LoginThrottle({ windowMs: 60_000, failuresPerAccount: 100, failuresPerIp: 2 });
    t.recordFailure('a', '9.9.9.9');
    t.recordFailure('b', '9.9.9.9');
    t.recordSuccess('c');
    expect(() => t.check('c', '9.9.9.9')).toThrow(expect.objectContaining({ code: 'rate_limited' }));
  });
});

describe('accounts', () => {
  let store: SqliteMetadataStore;
  let accounts: Accounts;
  beforeEach(() => {
    store = new SqliteMetadataStore({ path: ':memory:' });
    accounts = new Accounts(store, { tokenTtlMs: 60_000, throttle: new LoginThrottle({ windowMs: 60_000, failuresPerAccount: 5, failuresPerIp: 50 }) });
  });
  afterEach(() => store.close());

  it('registers once per folded name and issues a working token', async () => {
    const { username, token } = await accounts.register('Arpit', 'long enough');
    expect(username).toBe('arpit');
    await expect(accounts.register('ARPIT', 'long enough')).rejects.toMatchObject({ status: 409, code: 'username_taken' });
    const principal = await accounts.authenticate(`Bearer ${token}`);
    expect(principal.username).toBe('arpit');
  });

  it('refuses short passwords', async () => {
    await expect(accounts.register('bob', 'short')).rejects.toMatchObject({ status: 422, code: 'password_too_short' });
  });

  it('logs in with the password, refuses a wrong one, and revokes on logout', async () => {
    await accounts.register('bob', 'long enough');
    await expect(accounts.login('bob', 'wrong password', '1.2.3.4')).rejects.toMatchObject({ status: 401 });
    await expect(accounts.login('nobody', 'long enough', '1.2.3.4')).rejects.toMatchObject({ status: 401 });
    const { token } = await accounts.login('BOB', 'long enough', '1.2.3.4');
    const principal = await accounts.authenticate(`bearer ${token}`);
    await accounts.logout(principal);
    await expect(accounts.authenticate(`Bearer ${token}`)).rejects.toMatchObject({ status: 401 });
  });

  it('kills the tokens of a deleted account even when the name is registered again', async () => {
    const { token } = await accounts.register('carol', 'long enough');
    await store.deleteUser('carol');
    await accounts.register('carol', 'another one');
    await expect(accounts.authenticate(`Bearer ${token}`)).rejects.toMatchObject({ status: 401 });
  });

  it('authorizes a principal on its own user only', () => {
    const p = { username: 'dave', uid: 'u', tokenHash: 'h' };
    expect(Accounts.authorize(p, 'DAVE')).toBe('dave');
    expect(() => Accounts.authorize(p, 'erin')).toThrow(expect.objectContaining({ status: 403, code: 'forbidden' }));
  });

  it.each(['', 'Bearer', 'Basic abc', 'Bearer op_short', 'Bearer op_' + 'x'.repeat(43)])('refuses the header %j', async (header) => {
    await expect(accounts.authenticate(header)).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
  });
});
