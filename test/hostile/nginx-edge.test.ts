import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type RunningServer, removeDataDir, startServer } from '../support/server.js';
import { eventually } from '../support/timing.js';

/**
 * What uWS refuses before JavaScript (unknown methods, HTTP/1.0, no Host: docs/OPERATIONS.md,
 * known limits) is answered by the shipped nginx config (deploy/local) in front of a node, and
 * does not make nginx count the node as failed.
 */
const RENDER = path.resolve(import.meta.dirname, '../../deploy/local/render-nginx.sh');
const hasNginx = (() => { try { execFileSync('nginx', ['-v'], { stdio: 'ignore' }); return true; } catch { return false; } })();

function exchange(port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(raw));
    let received = '';
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.on('data', (chunk: Buffer) => { received += chunk.toString('latin1'); });
    socket.on('error', reject);
    socket.on('close', () => { clearTimeout(timer); resolve(received); });
  });
}

describe.skipIf(!hasNginx)('the shipped nginx config in front of OnePic (skipped: no nginx)', () => {
  let server: RunningServer;
  let second: RunningServer;
  let nginx: ChildProcess;
  let prefix: string;
  let port: number;

  beforeAll(async () => {
    // Two nodes: nginx ignores max_fails when an upstream has only one.
    server = await startServer({ env: { ONEPIC_WORKERS: '1' } });
    second = await startServer({ env: { ONEPIC_WORKERS: '1' } });
    prefix = mkdtempSync(path.join(tmpdir(), 'onepic-nginx-'));
    port = await freePort();
    execFileSync('bash', [RENDER, prefix, `127.0.0.1:${port}`, `127.0.0.1:${server.port}`, `127.0.0.1:${second.port}`]);
    nginx = spawn('nginx', ['-p', prefix, '-c', path.join(prefix, 'nginx.conf'), '-e', path.join(prefix, 'error.log'), '-g', 'daemon off;'], { stdio: 'ignore' });
    expect(await eventually(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status === 200, 10_000)).toBe(true);
  });
  afterAll(async () => {
    nginx?.kill('SIGTERM');
    for (const node of [server, second]) {
      if (node) { await node.stop(); await removeDataDir(node.dataDir); }
    }
    if (prefix) rmSync(prefix, { recursive: true, force: true });
  });

  it.each([
    ['QUERY', 'QUERY /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', /^HTTP\/1\.1 405 /],
    ['PURGE', 'PURGE /someone HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', /^HTTP\/1\.1 405 /],
    ['HTTP/1.0', 'GET /healthz HTTP/1.0\r\n\r\n', /^HTTP\/1\.1 200 /],
    ['no Host', 'GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n', /^HTTP\/1\.1 400 /],
  ])('answers %s at once', async (_name, raw, status) => {
    expect(await exchange(port, raw)).toMatch(status);
  });

  it('a burst of unknown methods does not get the nodes marked down', async () => {
    for (let i = 0; i < 20; i += 1) await exchange(port, 'QUERY /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    for (let i = 0; i < 4; i += 1) expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });
});
