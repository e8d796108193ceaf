/**
 * The one catalogue of errors a client can see: each stable snake_case code with its HTTP
 * status and plain message. Code anywhere raises one with `fail(code, ...details)`; the HTTP
 * edge turns an AppError into `{"error": {code, message}}`, and anything that is not an
 * AppError becomes a generic 500 with the stack logged. The OpenAPI test reads this table, so a
 * code cannot be added here without being documented.
 */

interface ErrorSpec {
  status: number;
  /** The message, or how to build it from the details the raiser passes. */
  message: string | ((...details: never[]) => string);
  /** Response headers, fixed or built from the same details. */
  headers?: Readonly<Record<string, string>> | ((...details: never[]) => Readonly<Record<string, string>>);
}

const retryAfter = (seconds: number) => ({ 'Retry-After': String(Math.max(1, Math.ceil(seconds))) });

export const ERRORS = {
  // 400: a request the server cannot read.
  invalid_json: { status: 400, message: 'The body is not valid JSON.' },
  invalid_request: { status: 400, message: (what: string) => what },
  invalid_multipart: { status: 400, message: 'The multipart body could not be parsed.' },
  missing_file: { status: 400, message: 'The multipart form has no "file" field.' },
  too_many_parts: { status: 400, message: (limit: number) => `The multipart form has more than ${limit} parts; an upload needs "file" and an optional "label".` },
  invalid_size: {
    status: 400,
    message: (maxSize: number, received: string) => `Expected an integer size from 1 to ${maxSize} but received "${received.slice(0, 32)}".`,
  },
  invalid_default: {
    status: 400,
    message: (redirectHosts: readonly string[]) =>
      'd must be 404, mp, identicon, initials, blank, or an http(s) URL of a .jpg, .jpeg, .png, .gif or .webp image'
      + (redirectHosts.length ? ` on one of: ${redirectHosts.join(', ')}.` : '.'),
  },
  invalid_active: {
    status: 400,
    message: (received: string) => `Expected active=true or active=false but received "${received.slice(0, 16)}".`,
  },
  // 401/403: who is asking.
  unauthorized: {
    status: 401,
    message: (why: 'missing' | 'wrong_password' | 'unknown_token' = 'missing') => ({
      missing: 'A valid bearer token is required.',
      wrong_password: 'The username or password is wrong.',
      unknown_token: 'The token is unknown, revoked or expired.',
    })[why],
    headers: { 'WWW-Authenticate': 'Bearer' },
  },
  forbidden: { status: 403, message: 'This token may not act on that user.' },
  // 404: nothing there.
  not_found: { status: 404, message: (what = 'No such route.') => what },
  user_not_found: { status: 404, message: 'There is no such user.' },
  no_active_picture: { status: 404, message: 'The user has no active picture.' },
  picture_not_found: { status: 404, message: 'There is no such picture.' },
  rendition_not_found: { status: 404, message: 'There is no image with that key.' },
  method_not_allowed: { status: 405, message: (allowed: readonly string[]) => `Use ${allowed.join(', ')}.` },
  // 409: the state forbids it.
  username_taken: { status: 409, message: (username: string) => `The username "${username}" is taken.` },
  // 413/415: the wrong body.
  too_large: { status: 413, message: (limitBytes: number) => `The body is larger than the limit of ${limitBytes} bytes.` },
  unsupported_type: { status: 415, message: (what: string) => what },
  // 422: a readable request that breaks a rule.
  invalid_username: { status: 422, message: 'A username is 1 to 39 characters of a-z, 0-9 and "-", not starting or ending with "-".' },
  reserved_username: { status: 422, message: (username: string) => `The name "${username}" is reserved.` },
  password_too_short: { status: 422, message: (min: number) => `A password has at least ${min} characters.` },
  password_too_long: { status: 422, message: (max: number) => `A password has at most ${max} characters.` },
  invalid_label: { status: 422, message: (max: number) => `A label is a string of at most ${max} characters without control characters.` },
  empty_image: { status: 422, message: (where: 'body' | 'file' = 'body') => (where === 'file' ? 'The "file" field is empty.' : 'The body is empty.') },
  undecodable_image: { status: 422, message: (why: string) => why },
  truncated_image: {
    status: 422,
    message: (format: string, bytes: number) =>
      `The ${format.toUpperCase()} image ends before its data is complete (${bytes} bytes arrived); the upload was probably cut short.`,
  },
  too_many_pixels: {
    status: 422,
    message: (width: number, height: number, limit: number) => `The image is ${width}x${height} pixels (${width * height}); the limit is ${limit}.`,
  },
  too_small: {
    status: 422,
    message: (width: number, height: number, minSide: number) => `The image is ${width}x${height} pixels; each side must be at least ${minSide}.`,
  },
  too_many_frames: {
    status: 422,
    message: (frames: number, limit: number) => `The image has ${frames} frames; the limit is ${limit} (only the first is used).`,
  },
  // 429/503: come back later.
  rate_limited: {
    status: 429,
    message: 'Too many failed logins; wait before trying again.',
    headers: (retryAfterSeconds: number) => retryAfter(retryAfterSeconds),
  },
  too_many_uploads: {
    status: 429,
    message: (perAccount: number) => `This account already has ${perAccount} uploads in flight; wait for one to finish.`,
    headers: retryAfter(5),
  },
  uploads_busy: { status: 503, message: 'The node is receiving as many upload bytes as it can hold; retry shortly.', headers: retryAfter(2) },
  busy: { status: 503, message: 'The image workers are saturated; retry shortly.', headers: retryAfter(1) },
  shutting_down: { status: 503, message: 'The server is shutting down; retry on another node.', headers: retryAfter(1) },
  metadata_unavailable: { status: 503, message: 'The metadata store is not answering; try again shortly.', headers: retryAfter(2) },
  blobs_unavailable: { status: 503, message: 'The blobs store is not answering; try again shortly.', headers: retryAfter(2) },
  // 500: our fault; the details are logged, never sent.
  internal: { status: 500, message: 'Something went wrong on our side; it has been logged.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

type Catalogue = typeof ERRORS;
/** The details a code's message (or headers) is built from; none for a fixed message. */
type Details<C extends ErrorCode> = Catalogue[C]['message'] extends (...details: infer D) => string
  ? D
  : Catalogue[C] extends { headers: (...details: infer H) => unknown } ? H : [];

/** An error a client may see: its status, stable code, public message and extra headers. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    /** Extra response headers, e.g. Retry-After. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

/** The error for `code`, its message and headers built from `details`. */
export function fail<C extends ErrorCode>(code: C, ...details: Details<C>): AppError {
  const spec: ErrorSpec = ERRORS[code];
  const build = <T>(part: T | ((...d: never[]) => T)): T =>
    typeof part === 'function' ? (part as (...d: unknown[]) => T)(...details) : part;
  return new AppError(spec.status, code, build(spec.message), spec.headers === undefined ? {} : build(spec.headers));
}

/**
 * A store (metadata or blobs) did not answer. Stores throw this rather than their driver's
 * errors so that the edge can answer 503 with a clear code and readiness can say why.
 */
export class StoreUnavailableError extends AppError {
  constructor(readonly store: 'metadata' | 'blobs', cause: unknown) {
    const { status, message, headers } = ERRORS[`${store}_unavailable`];
    super(status, `${store}_unavailable`, message, headers);
    this.name = 'StoreUnavailableError';
    this.cause = cause;
  }
}

/**
 * A store's volume has no room (ENOSPC, SQLITE_FULL). To a client it is the same 503 as any
 * unavailable store; readiness names it "full", since freeing space, not waiting, is the cure.
 */
export class StoreFullError extends StoreUnavailableError {
  constructor(store: 'metadata' | 'blobs', cause: unknown) {
    super(store, cause);
    this.name = 'StoreFullError';
  }
}
