import { createHash, randomBytes } from 'node:crypto';

/**
 * Bearer tokens: 32 random bytes, shown to the client once. The store keeps only their SHA-256
 * (a fast hash is right here: the token has 256 bits of entropy, so there is nothing to
 * brute-force, and every authenticated request hashes it).
 */
const PREFIX = 'op_';

export function newToken(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Cheap shape check before touching the store. */
export function looksLikeToken(token: string): boolean {
  return token.length === PREFIX.length + 43 && token.startsWith(PREFIX) && /^[A-Za-z0-9_-]+$/.test(token.slice(PREFIX.length));
}
