/**
 * Blob keys are checked strictly, and alike by every backend: the filesystem store turns them
 * into paths, and one rule for all keeps blobs movable between backends (fs to S3 and back).
 * A bad key is a bug in the caller (keys are built by domain/keys.ts), never user input, and
 * fails loudly with a plain Error rather than being mapped to a client-visible status.
 *
 * A segment may not start with '.': that rules out '.' and '..' (no escape from the root),
 * and keeps the filesystem store's own `.tmp/` directory out of the key space.
 */
const SEGMENT = /^[a-z0-9_-][a-z0-9._-]{0,254}$/;
/** The unfinished last part of a list prefix: `a/h1` lists `a/h1/...` and `a/h10/...`. */
const PARTIAL_SEGMENT = /^(?:[a-z0-9_-][a-z0-9._-]{0,254})?$/;
const MAX_KEY_LENGTH = 1024;

const expectation = "'/'-separated segments of a-z, 0-9, '.', '_' and '-', none empty or starting with '.'";

export function checkKey(key: string): void {
  if (key.length > MAX_KEY_LENGTH || !key.split('/').every((segment) => SEGMENT.test(segment))) {
    throw new Error(`Expected a blob key of ${expectation} but received ${JSON.stringify(key)}`);
  }
}

/** '' (everything) or whole segments followed by an optional partial one. */
export function checkListPrefix(prefix: string): void {
  if (prefix === '') return;
  const segments = prefix.split('/');
  const tail = segments.pop()!;
  if (prefix.length > MAX_KEY_LENGTH || !PARTIAL_SEGMENT.test(tail) || !segments.every((s) => SEGMENT.test(s))) {
    throw new Error(`Expected a blob key prefix of ${expectation} but received ${JSON.stringify(prefix)}`);
  }
}

/**
 * Whole segments ending with '/'. Without the slash, deleting `a/h1` would also take the
 * sibling `a/h10/`.
 */
export function checkDeletePrefix(prefix: string): void {
  if (!prefix.endsWith('/') || prefix.length > MAX_KEY_LENGTH || !prefix.slice(0, -1).split('/').every((s) => SEGMENT.test(s))) {
    throw new Error(`Expected a blob key prefix of ${expectation}, ending with '/', but received ${JSON.stringify(prefix)}`);
  }
}

/** The part of a prefix up to and including its last '/', and the rest. */
export function splitPrefix(prefix: string): { dir: string; tail: string } {
  const cut = prefix.lastIndexOf('/') + 1;
  return { dir: prefix.slice(0, cut), tail: prefix.slice(cut) };
}
