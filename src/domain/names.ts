/**
 * Usernames: 1 to 39 characters of a-z, 0-9 and '-', not starting or ending with '-', folded to
 * lower case at registration and at lookup. Reserved names never shadow a route.
 */

export const USERNAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,37}[a-z0-9])?$/;

const RESERVED_USERNAMES: ReadonlySet<string> = new Set([
  // from the contract
  'api', 'i', 'avatar', 'metrics', 'healthz', 'readyz', 'static', 'assets', 'ui', 'app',
  'account', 'login', 'logout', 'signup', 'admin', 'www', 'favicon.ico', 'robots.txt',
  // added by OnePic: routes it serves or may serve, and names that would mislead
  'openapi', 'docs', 'health', 'ready', 'status', 'settings', 'user', 'users', 'me',
  'register', 'auth', 'oauth', 'root', 'null', 'undefined', 'onepic', 'support', 'help',
]);

export function foldUsername(raw: string): string {
  return raw.toLowerCase();
}

/** Whether a folded name has the shape of a username (reserved or not). */
export function isWellFormedUsername(name: string): boolean {
  return USERNAME_PATTERN.test(name);
}

export function isReservedUsername(name: string): boolean {
  return RESERVED_USERNAMES.has(name);
}

/** Folds and checks a path's username; undefined if it cannot be one (served like an unknown user). */
export function pathUsername(raw: string): string | undefined {
  const username = foldUsername(raw);
  return isWellFormedUsername(username) ? username : undefined;
}
