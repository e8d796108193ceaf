import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phoneJpeg } from '../fixtures/images.js';
import { register, upload } from '../support/http.js';
import { removeDataDir, type RunningServer, startServer } from '../support/server.js';
import { sleep } from '../support/timing.js';

/**
 * Issue 13, item 3: upload bodies in flight are bounded. One free account opens 200 uploads that
 * each announce 10 MB and trickle it. Before the fix every body was buffered whole before anything
 * checked load, so the node's RSS grew with the sum of the bodies. Now a body is read only after
 * its token is checked, within the account's upload slots and the node's byte budget; the rest are
 * refused (429 or 503, with Retry-After) before most of their body is sent, and another account
 * still uploads.
 */

/** The RSS the node must stay under (docs/CONFIGURATION.md, "Upload bodies in flight"). */
const RSS_BUDGET = 768 * 1024 * 1024;
const UPLOADS = 200;
const ANNOUNCED = 10 * 1024 * 1024;
/** Each upload sends at most this much: enough to show the growth, never a whole body. */
const SENT_MAX = 6 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0xab); // one buffer, written to every socket
const TICK_MS = 125;
const TRICKLE_MS = 12_000;

let server: RunningServer;

beforeAll(async () => { server = await startServer(); });
afterAll(async () => {
  await server.stop();
  await removeDataDir(server.dataDir);
});

interface Upload {
  socket: net.Socket;
  sent: number;
  /** Bytes of body sent when the answer arrived. */
  sentAtAnswer?: number;
  status?: number;
  retryAfter?: string;
  code?: string;
  blocked: boolean;
}

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) * 1024;
}

function open(port: number, username: string, token: string): Promise<Upload> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const u: Upload = { socket, sent: 0, blocked: false };
    let head = '';
    socket.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      u.code ??= /"code":"([a-z_]+)"/.exec(head)?.[1];
      if (u.status !== undefined || !head.includes('\r\n\r\n')) return;
      u.status = Number(head.slice(9, 12));
      u.retryAfter = /\r\nretry-after: *([^\r]*)/i.exec(head)?.[1];
      u.sentAtAnswer = u.sent;
    });
    socket.on('drain', () => { u.blocked = false; });
    socket.on('error', () => undefined); // a refused upload is closed by the server
    socket.once('connect', () => {
      socket.write(`POST /api/v1/users/${username}/pictures HTTP/1.1\r\nHost: 127.0.0.1\r\n`
        + `Authorization: Bearer ${token}\r\nContent-Type: image/jpeg\r\nContent-Length: ${ANNOUNCED}\r\n\r\n`);
      resolve(u);
    });
    socket.once('error', reject);
  });
}

/** How many uploads got each answer (`pending`: none yet). */
function tally(uploads: Upload[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const u of uploads) {
    const key = u.status === undefined ? 'pending' : `${u.status} ${u.code ?? ''}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

/** Sends one chunk to each upload still waiting for its answer, a few times over. */
async function trickle(uploads: Upload[], rounds: number): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    for (const u of uploads) if (u.status === undefined && !u.blocked && !u.socket.destroyed) { u.sent += CHUNK.length; u.socket.write(CHUNK); }
    await sleep(TICK_MS);
  }
}

describe('200 slow 10 MB uploads from one account', () => {
  it('keep RSS under the budget, are refused quickly past the limits, and leave room for another account', async () => {
    const hogToken = await register(server.base, 'hog');
    const otherToken = await register(server.base, 'other');
    const small = await phoneJpeg(64, 64);
    const pid = server.proc.pid!;
    let peak = rssBytes(pid);
    const uploads = await Promise.all(Array.from({ length: UPLOADS }, () => open(server.port, 'hog', hogToken)));

    let otherStatus = 0;
    const started = Date.now();
    let otherSent = false;
    while (Date.now() - started < TRICKLE_MS) {
      for (const u of uploads) {
        if (u.status !== undefined || u.blocked || u.sent >= SENT_MAX || u.socket.destroyed) continue;
        u.sent += CHUNK.length;
        if (!u.socket.write(CHUNK)) u.blocked = true;
      }
      peak = Math.max(peak, rssBytes(pid));
      if (!otherSent && Date.now() - started > 2_000) {
        otherSent = true;
        void upload(server.base, 'other', otherToken, small).then((r) => { otherStatus = r.status; });
      }
      await sleep(TICK_MS);
    }
    peak = Math.max(peak, rssBytes(pid));
    for (const u of uploads) u.socket.destroy();

    const refused = uploads.filter((u) => u.status === 429 || u.status === 503);
    const mb = (n: number) => `${(n / 1048576).toFixed(0)} MB`;
    console.log(`peak RSS ${mb(peak)}; refused ${refused.length}/${UPLOADS}; answers ${JSON.stringify(tally(uploads))}`);
    expect(peak, `peak RSS ${mb(peak)}`).toBeLessThan(RSS_BUDGET);
    // At most the account's slots (4 by default) are read; every other upload is refused.
    expect(refused.length).toBeGreaterThanOrEqual(UPLOADS - 4);
    for (const u of refused) {
      expect(u.retryAfter).toMatch(/^\d+$/);
      // Refused before most of the body was sent: the server did not wait for it.
      expect(u.sentAtAnswer!).toBeLessThan(ANNOUNCED / 10);
    }
    expect(otherStatus, 'the other account\'s small upload').toBe(201);
  });
});

describe('slow uploads from many accounts', () => {
  it('are refused with 503 uploads_busy past the node\'s budget of body bytes, which comes back when they go', async () => {
    // Room for three announced bodies, whichever accounts send them.
    const small = await startServer({ env: { ONEPIC_UPLOAD_BYTES_IN_FLIGHT: String(3 * ANNOUNCED + 1024 * 1024) } });
    try {
      const tokens = await Promise.all(Array.from({ length: 6 }, (_, i) => register(small.base, `many${i}`)));
      const uploads = await Promise.all(tokens.map((t, i) => open(small.port, `many${i}`, t)));
      await trickle(uploads, 8);
      console.log(`answers ${JSON.stringify(tally(uploads))}`);
      const busy = uploads.filter((u) => u.status === 503);
      expect(busy.length).toBe(3);
      for (const u of busy) {
        expect(u.code).toBe('uploads_busy');
        expect(u.retryAfter).toMatch(/^\d+$/);
        expect(u.sentAtAnswer!).toBeLessThan(ANNOUNCED / 10);
      }
      expect(uploads.filter((u) => u.status === undefined).length).toBe(3);
      // The bodies held go away with their connections, and so do their reservations.
      for (const u of uploads) u.socket.destroy();
      await sleep(200);
      expect((await upload(small.base, 'many0', tokens[0]!, await phoneJpeg(64, 64))).status).toBe(201);
    } finally {
      await small.stop();
      await removeDataDir(small.dataDir);
    }
  });
});
