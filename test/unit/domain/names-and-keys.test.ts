import { describe, expect, it } from 'vitest';
import { foldUsername, isReservedUsername, isWellFormedUsername } from '../../../src/domain/names.js';
import {
  formatFromExtension, masterHash, masterKey, masterOfBlob, masterPrefix, parsePublicKey, placeholderKey, publicKey, publicKeyPrefix,
  renditionBlobKey, renditionKey,
} from '../../../src/domain/keys.js';
import { Accounts } from '../../../src/domain/accounts.js';

describe('usernames', () => {
  it.each(['a', 'arpit', 'a-b', 'a1', '0', 'x'.repeat(39), 'ab-cd-ef'])('accepts %s', (name) => {
    expect(isWellFormedUsername(name)).toBe(true);
  });

  it.each(['', '-a', 'a-', 'x'.repeat(40), 'a_b', 'a.b', 'a b', 'ärpit', 'a/b', '..', 'A'])('rejects %j', (name) => {
    expect(isWellFormedUsername(name)).toBe(false);
  });

  it('folds to lower case', () => {
    expect(foldUsername('ArPiT')).toBe('arpit');
  });

  it('reserves every route name the contract lists', () => {
    for (const name of ['api', 'i', 'avatar', 'metrics', 'healthz', 'readyz', 'static', 'assets', 'ui', 'app', 'account',
      'login', 'logout', 'signup', 'admin', 'www', 'favicon.ico', 'robots.txt']) {
      expect(isReservedUsername(name)).toBe(true);
    }
    expect(isReservedUsername('arpit')).toBe(false);
  });

  it('registration folds, then refuses reserved and malformed names with distinct codes', () => {
    expect(Accounts.checkNewUsername('Arpit')).toBe('arpit');
    expect(() => Accounts.checkNewUsername('ADMIN')).toThrow(expect.objectContaining({ status: 422, code: 'reserved_username' }));
    expect(() => Accounts.checkNewUsername('bad_name')).toThrow(expect.objectContaining({ status: 422, code: 'invalid_username' }));
  });
});

describe('content keys', () => {
  const hash = masterHash('uid-1', Buffer.from('bytes'));

  it('hashes per account: the same bytes under two accounts get two keys', () => {
    expect(hash).toMatch(/^[0-9a-f]{32}$/);
    expect(masterHash('uid-1', Buffer.from('bytes'))).toBe(hash);
    expect(masterHash('uid-2', Buffer.from('bytes'))).not.toBe(hash);
  });

  it('round-trips a public key', () => {
    const ref = { username: 'arpit', hash, size: 256, format: 'webp' as const };
    expect(parsePublicKey(publicKey(ref), 2048)).toEqual(ref);
  });

  it.each([
    ['wrong part count', `arpit.${'a'.repeat(32)}.256`],
    ['non-canonical extension', `arpit.${'a'.repeat(32)}.256.jpeg`],
    ['size above the maximum', `arpit.${'a'.repeat(32)}.4096.jpg`],
    ['leading zero size', `arpit.${'a'.repeat(32)}.0256.jpg`],
    ['short hash', 'arpit.abc.256.jpg'],
    ['bad username', `-arpit.${'a'.repeat(32)}.256.jpg`],
    ['path traversal', `..${'a'.repeat(32)}.256.jpg`],
  ])('refuses a key with %s', (_why, key) => {
    expect(parsePublicKey(key, 2048)).toBeUndefined();
  });

  it('maps extensions to formats', () => {
    expect(formatFromExtension('JPG')).toBe('jpeg');
    expect(formatFromExtension('jpeg')).toBe('jpeg');
    expect(formatFromExtension('gif')).toBeUndefined();
  });
});

describe('key layout', () => {
  const hash = '0123456789abcdef0123456789abcdef';

  it('puts every blob of a master under its prefix, and finds the master back from any of them', () => {
    expect(masterKey('ada', hash)).toBe(`ada/${hash}/master`);
    expect(renditionBlobKey('ada', hash, 64, 'webp')).toBe(`ada/${hash}/64.webp`);
    for (const key of [masterKey('ada', hash), renditionBlobKey('ada', hash, 64, 'jpeg')]) {
      expect(key.startsWith(masterPrefix('ada', hash))).toBe(true);
      expect(masterOfBlob(key)).toEqual({ username: 'ada', hash });
    }
    for (const key of ['ada/master', 'ada', `ada/${hash}/x/y`, '.onepic-tmp']) expect(masterOfBlob(key), key).toBeUndefined();
  });

  it('builds public keys one way, each under its master\'s public prefix', () => {
    const key = renditionKey('ada', hash, 64, 'jpeg');
    expect(key).toBe(publicKey({ username: 'ada', hash, size: 64, format: 'jpeg' }));
    expect(key.startsWith(publicKeyPrefix({ username: 'ada', hash }))).toBe(true);
  });

  it('gives placeholders keys no public key can equal', () => {
    const key = placeholderKey('identicon', 'ada', 64, 'png');
    expect(key).toBe('~identicon.ada.64.png');
    expect(parsePublicKey(key, 2048)).toBeUndefined();
  });
});
