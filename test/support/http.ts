import http from 'node:http';

/**
 * Requests to a running server: registering and uploading, JSON calls to the management API,
 * image GETs, and raw HTTP for what fetch cannot do. What the answers must look like is in
 * assertions.ts; what the server stored is read through stores.ts.
 */

const auth = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` });

/** Registers a user and returns its bearer token. */
export async function register(base: string, username: string, password = 'correct horse battery'): Promise<string> {
  const res = await fetch(`${base}/api/v1/users`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username, password }),
  });
  if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/** Uploads raw image bytes; returns the response. */
export function upload(base: string, username: string, token: string, bytes: Uint8Array, query = '', contentType = 'image/jpeg'): Promise<Response> {
  return fetch(`${base}/api/v1/users/${username}/pictures${query}`, {
    method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': contentType }, body: bytes,
  });
}

/** A JSON request; returns the status, headers and parsed body (undefined when empty). */
export async function api(
  base: string, method: string, pathname: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = { ...(opts.token ? auth(opts.token) : {}), ...opts.headers };
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['Content-Type'] ??= 'application/json';
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  }
  const res = await fetch(`${base}${pathname}`, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let parsed: unknown;
  if (text !== '') {
    try { parsed = JSON.parse(text); } catch { parsed = text; }
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** A GET (or HEAD) of an image; returns status, headers and the body bytes. */
export async function getImage(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
  const res = await fetch(url, { redirect: 'manual', ...init });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * A request through node:http, for what fetch hides: HEAD's Content-Length, chunked bodies
 * without Content-Length, paths sent exactly as written (no normalisation of `..` or `//`).
 */
export function rawRequest(
  base: string,
  opts: { method?: string; path: string; headers?: Record<string, string | number>; body?: Buffer | Buffer[]; chunked?: boolean },
): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: url.hostname, port: url.port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers, agent: false,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (opts.chunked) req.setHeader('Transfer-Encoding', 'chunked');
    const parts = opts.body === undefined ? [] : Array.isArray(opts.body) ? opts.body : [opts.body];
    for (const part of parts) req.write(part);
    req.end();
  });
}

/** A multipart/form-data body with the given fields. */
export function multipart(fields: Array<{ name: string; value: Buffer | string; filename?: string; contentType?: string }>): {
  body: Buffer; contentType: string;
} {
  const boundary = `----onepic${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  for (const f of fields) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${f.name}"`;
    if (f.filename) head += `; filename="${f.filename}"`;
    head += '\r\n';
    if (f.contentType) head += `Content-Type: ${f.contentType}\r\n`;
    parts.push(Buffer.from(`${head}\r\n`), Buffer.isBuffer(f.value) ? f.value : Buffer.from(f.value), Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

