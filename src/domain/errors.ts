/**
 * Every error a client can see is an AppError: an HTTP status, a stable snake_case code
 * and a plain message. The HTTP edge turns them into `{"error": {code, message}}` bodies;
 * anything that is not an AppError becomes a generic 500 with the stack logged.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra response headers, e.g. Retry-After. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const badRequest = (code: string, message: string) => new AppError(400, code, message);
export const unauthorized = (message = 'A valid bearer token is required.') =>
  new AppError(401, 'unauthorized', message, { 'WWW-Authenticate': 'Bearer' });
export const forbidden = (message = 'This token may not act on that user.') => new AppError(403, 'forbidden', message);
export const notFound = (code: string, message: string) => new AppError(404, code, message);
export const conflict = (code: string, message: string) => new AppError(409, code, message);
export const tooLarge = (limitBytes: number) =>
  new AppError(413, 'too_large', `The body is larger than the limit of ${limitBytes} bytes.`);
export const unsupportedType = (message: string) => new AppError(415, 'unsupported_type', message);
export const unprocessable = (code: string, message: string) => new AppError(422, code, message);
export const tooManyRequests = (retryAfterSeconds: number, message: string) =>
  new AppError(429, 'rate_limited', message, { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) });
export const unavailable = (code: string, message: string, retryAfterSeconds = 1) =>
  new AppError(503, code, message, { 'Retry-After': String(retryAfterSeconds) });

/**
 * A store (metadata or blobs) did not answer. Stores throw this rather than their driver's
 * errors so that the edge can answer 503 with a clear code and readiness can say why.
 */
export class StoreUnavailableError extends AppError {
  constructor(readonly store: 'metadata' | 'blobs', cause: unknown) {
    super(503, `${store}_unavailable`, `The ${store} store is not answering; try again shortly.`, { 'Retry-After': '2' });
    this.name = 'StoreUnavailableError';
    this.cause = cause;
  }
}
