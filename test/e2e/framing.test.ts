import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { register } from '../support/http.js';
import { type RunningServer, startServer } from '../support/server.js';

const tinyPng = () => sharp({ create: { width: 40, height: 40, channels: 3, background: '#3a7' } }).png().toBuffer();

/**
 * Responses without a body (304, 204, HEAD) must still be framed right on a keep-alive
 * connection: a wrong Content-Length makes a client or proxy wait for bytes that never come, or
 * read the next response as a body. fetch() hides this, so these requests go over a raw socket.
 * (Pipelined requests are not tested: uWS answers them out of order when the first is async.)
 */
/**
 * Sends `requests` one after another on one keep-alive connection, each once the previous one's
 * status line has arrived (as browsers do: they do not pipeline), and returns the raw text.
 */
function exchange(port: number, requests: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    let sent = 0;
    const socket = connect(port, '127.0.0.1', () => socket.write(requests[sent++]!));
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      const answered = (text.match(/HTTP\/1\.1 /g) ?? []).length;
      if (answered === sent && sent < requests.length) socket.write(requests[sent++]!);
      if (answered === requests.length && /\r\n\r\n/.test(text.slice(text.lastIndexOf('HTTP/1.1 ')))) {
        setTimeout(() => { socket.destroy(); resolve(text); }, 200);
      }
    });
    socket.on('error', reject);
    setTimeout(() => { socket.destroy(); reject(new Error(`incomplete:\n${text}`)); }, 10_000);
  });
}

const header = (block: string, name: string) => new RegExp(`^${name}: (.*)\\r$`, 'mi').exec(block)?.[1];

describe('framing of bodiless responses', () => {
  let server: RunningServer;
  let token: string;
  beforeAll(async () => {
    server = await startServer();
    token = await register(server.base, 'framed');
  });
  afterAll(() => server.kill());

  it('ends a 304 without a body, and the next response on the connection arrives intact', async () => {
    const ok = await fetch(`${server.base}/nobody?d=identicon&s=40`);
    const length = (await ok.arrayBuffer()).byteLength;
    const etag = ok.headers.get('etag')!;
    const text = await exchange(server.port, [
      `GET /nobody?d=identicon&s=40 HTTP/1.1\r\nHost: x\r\nIf-None-Match: ${etag}\r\n\r\n`,
      'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n',
    ]);
    const [notModified, next] = text.split(/(?=HTTP\/1\.1 )/);
    expect(notModified).toMatch(/^HTTP\/1\.1 304 /);
    // No body follows either way; RFC 9110 would also allow the 200's length here.
    expect(['0', String(length)]).toContain(header(notModified!, 'Content-Length'));
    expect(notModified!.endsWith('\r\n\r\n')).toBe(true);
    expect(next).toMatch(/^HTTP\/1\.1 200 [\s\S]*\{"status":"ok"\}$/);
  });

  it('gives a 204 no length but zero, and the next response on the connection arrives intact', async () => {
    const text = await exchange(server.port, [
      `DELETE /api/v1/users/framed/active HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`,
      'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n',
    ]);
    const [noContent, next] = text.split(/(?=HTTP\/1\.1 )/);
    expect(noContent).toMatch(/^HTTP\/1\.1 204 /);
    expect(header(noContent!, 'Content-Length') ?? '0').toBe('0');
    expect(next).toMatch(/^HTTP\/1\.1 200 [\s\S]*\{"status":"ok"\}$/);
  });

  it('gives HEAD the length of its GET, once, and the next requests on the connection are answered', async () => {
    const owner = 'headed';
    const ownerToken = await register(server.base, owner);
    const upload = await fetch(`${server.base}/api/v1/users/${owner}/pictures?active=true`, {
      method: 'POST', headers: { Authorization: `Bearer ${ownerToken}`, 'Content-Type': 'image/png' }, body: await tinyPng(),
    });
    expect(upload.status).toBe(201);
    const length = (await (await fetch(`${server.base}/${owner}?s=30`)).arrayBuffer()).byteLength; // now cached
    const placeholderLength = (await (await fetch(`${server.base}/nobody?d=blank&s=31`)).arrayBuffer()).byteLength;
    const text = await exchange(server.port, [
      `HEAD /${owner}?s=30 HTTP/1.1\r\nHost: x\r\n\r\n`, // answered from memory, in the callback
      'HEAD /nobody?d=blank&s=31 HTTP/1.1\r\nHost: x\r\n\r\n', // answered after an await
      `HEAD /${owner}?s=33 HTTP/1.1\r\nHost: x\r\n\r\n`, // a first rendition, made in a worker
      'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n',
    ]);
    const [hit, miss, rendered, next] = text.split(/(?=HTTP\/1\.1 )/);
    for (const [block, want] of [[hit, String(length)], [miss, String(placeholderLength)]] as const) {
      expect(block).toMatch(/^HTTP\/1\.1 (200|404) /);
      expect(block!.match(/^Content-Length: /gmi), 'exactly one Content-Length').toHaveLength(1);
      expect(header(block!, 'Content-Length')).toBe(want);
      expect(block!.endsWith('\r\n\r\n'), 'no body after the headers').toBe(true);
    }
    expect(rendered).toMatch(/^HTTP\/1\.1 200 /);
    expect(Number(header(rendered!, 'Content-Length'))).toBeGreaterThan(0);
    expect(rendered!.endsWith('\r\n\r\n')).toBe(true);
    expect(next).toMatch(/^HTTP\/1\.1 200 [\s\S]*\{"status":"ok"\}$/);
  });
});
