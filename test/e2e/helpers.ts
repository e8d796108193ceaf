import { readdir } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import sharp, { type Metadata } from 'sharp';
import { expect } from 'vitest';

/**
 * Shared helpers of the end-to-end suites: JSON calls to the management API, raw HTTP for what
 * fetch cannot do, and listFiles for the few looks into a data directory that only the filesystem
 * blob store has (what a server stored is read through inspect.ts, whatever its backends).
 */

export const auth = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` });

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

/** Asserts a JSON error response of the contract's shape, with this status and code. */
export function expectError(res: { status: number; headers: Headers; body: any }, status: number, code?: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers.get('content-type') ?? '').toMatch(/^application\/json/);
  expect(typeof res.body?.error?.code).toBe('string');
  expect(res.body.error.code).toMatch(/^[a-z][a-z0-9_]*$/);
  expect(typeof res.body.error.message).toBe('string');
  if (code) expect(res.body.error.code).toBe(code);
}

/** A GET (or HEAD) of an image; returns status, headers and the body bytes. */
export async function getImage(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
  const res = await fetch(url, { redirect: 'manual', ...init });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

/** Decodes an image and asserts it is `format`, `side` x `side`. */
export async function expectSquareImage(bytes: Uint8Array, side: number, format?: string): Promise<Metadata> {
  const meta = await sharp(bytes).metadata();
  expect({ width: meta.width, height: meta.height }).toEqual({ width: side, height: side });
  if (format) expect(meta.format).toBe(format);
  return meta;
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

/** Every file under `dir`, as paths relative to it, sorted; [] when `dir` does not exist. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (at: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(at, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const e of entries) {
      const full = path.join(at, e.name);
      if (e.isDirectory()) await walk(full);
      else out.push(path.relative(dir, full));
    }
  };
  await walk(dir);
  return out.sort();
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

/** Picture ids of the contract: opaque, but the server's must be non-empty strings. */
export const PICTURE_KEYS = ['active', 'bytes', 'createdAt', 'height', 'id', 'label', 'url', 'width'];

export function expectPicture(p: any): void {
  expect(Object.keys(p).sort()).toEqual(PICTURE_KEYS);
  expect(typeof p.id).toBe('string');
  expect(p.id.length).toBeGreaterThan(0);
  expect(typeof p.label).toBe('string');
  expect(typeof p.active).toBe('boolean');
  expect(Number.isInteger(p.width) && p.width > 0).toBe(true);
  expect(p.height).toBe(p.width);
  expect(Number.isInteger(p.bytes) && p.bytes > 0).toBe(true);
  expect(new Date(p.createdAt).toISOString()).toBe(p.createdAt);
  expect(p.url).toMatch(/^\/i\/[^/]+$/);
}
