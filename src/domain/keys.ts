import { createHash } from 'node:crypto';
import { USERNAME_PATTERN } from './names.js';

/**
 * Every key the service builds or parses, in one place: blob keys (masters and stored
 * renditions), the public keys of `/i/{key}`, and the rendition cache's placeholder keys. No
 * other module assembles or splits a key by hand. (blobs/keys.ts only checks a key's syntax.)
 *
 * Content addresses. A master's hash is SHA-256 over the account's uid and the master's bytes,
 * so identical uploads by one account share one blob, while two accounts (or an account and a
 * later one of the same name) never share a key. Every blob of a master lives under
 * `<username>/<hash>/`, which lets the sweeper check one partition per blob and lets a delete
 * remove a master with all its renditions by prefix.
 */

export type RenditionFormat = 'jpeg' | 'png' | 'webp' | 'avif';

const HASH_HEX_LENGTH = 32;
const HASH_PATTERN = /^[0-9a-f]{32}$/;

export const FORMAT_EXTENSION: Readonly<Record<RenditionFormat, string>> = {
  jpeg: 'jpg', png: 'png', webp: 'webp', avif: 'avif',
};
export const FORMAT_CONTENT_TYPE: Readonly<Record<RenditionFormat, string>> = {
  jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', avif: 'image/avif',
};
const EXTENSION_FORMAT: Readonly<Record<string, RenditionFormat>> = {
  jpg: 'jpeg', jpeg: 'jpeg', png: 'png', webp: 'webp', avif: 'avif',
};

export function formatFromExtension(ext: string): RenditionFormat | undefined {
  return EXTENSION_FORMAT[ext.toLowerCase()];
}

export function masterHash(uid: string, master: Uint8Array): string {
  return createHash('sha256').update(uid).update('\0').update(master).digest('hex').slice(0, HASH_HEX_LENGTH);
}

/** One master of one user: everything under `<username>/<hash>/`. */
export interface MasterRef {
  username: string;
  hash: string;
}

export const masterPrefix = (username: string, hash: string) => `${username}/${hash}/`;
/** No extension: `/i/{key}` finds the master from the key alone, whatever its format. */
export const masterKey = (username: string, hash: string) => `${masterPrefix(username, hash)}master`;
export const renditionBlobKey = (username: string, hash: string, size: number, format: RenditionFormat) =>
  `${masterPrefix(username, hash)}${size}.${FORMAT_EXTENSION[format]}`;

/** The master a blob key belongs to (its own or its rendition's), or undefined for a key outside the layout. */
export function masterOfBlob(blobKey: string): MasterRef | undefined {
  const parts = blobKey.split('/');
  return parts.length === 3 ? { username: parts[0]!, hash: parts[1]! } : undefined;
}

/** What `/i/{key}` names: one rendition of one master. */
export interface RenditionRef {
  username: string;
  hash: string;
  size: number;
  format: RenditionFormat;
}

/** The public key of a rendition: `<username>.<hash>.<size>.<ext>` (usernames have no dots). */
export function publicKey(ref: RenditionRef): string {
  return renditionKey(ref.username, ref.hash, ref.size, ref.format);
}

/** publicKey without the ref object, for the read path's cache hits. */
export function renditionKey(username: string, hash: string, size: number, format: RenditionFormat): string {
  return `${username}.${hash}.${size}.${FORMAT_EXTENSION[format]}`;
}

/** What every public key of one master starts with. */
export const publicKeyPrefix = (master: MasterRef) => `${master.username}.${master.hash}.`;

/**
 * Generated placeholders share the rendition cache under keys no public key can equal (public
 * keys start with a username, which never starts with this), so `/i/{key}` never serves one.
 */
export const PLACEHOLDER_KEY_PREFIX = '~';
export const placeholderKey = (kind: string, seed: string, size: number, format: RenditionFormat) =>
  `${PLACEHOLDER_KEY_PREFIX}${kind}.${seed}.${size}.${format}`;

/** Parses a public key; undefined for anything the server could not have handed out. */
export function parsePublicKey(key: string, maxSize: number): RenditionRef | undefined {
  const parts = key.split('.');
  if (parts.length !== 4) return undefined;
  const [username, hash, sizeText, ext] = parts as [string, string, string, string];
  const format = canonicalFormat(ext);
  if (!format || !HASH_PATTERN.test(hash) || !/^[1-9][0-9]{0,3}$/.test(sizeText)) return undefined;
  const size = Number(sizeText);
  if (size > maxSize || !USERNAME_PATTERN.test(username)) return undefined;
  return { username, hash, size, format };
}

// Public keys use the canonical extension only, so each rendition has exactly one URL.
function canonicalFormat(ext: string): RenditionFormat | undefined {
  const format = EXTENSION_FORMAT[ext];
  return format && FORMAT_EXTENSION[format] === ext ? format : undefined;
}
