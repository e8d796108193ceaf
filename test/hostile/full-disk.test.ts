import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmdirSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noisyJpeg } from '../fixtures/images.js';
import { api, getImage, register, upload } from '../support/http.js';
import { type RunningServer, startServer } from '../support/server.js';
import { eventually, sleep } from '../support/timing.js';

/**
 * Issue 13, item 2: a data volume filled by anonymous renders must stay recoverable. The server
 * runs on a 48 MB tmpfs of its own; anonymous GETs of many sizes fill it (renditions are stored
 * on first request), and a filler file takes whatever they leave, as other data on a shared
 * volume would. Then an owner must still be able to delete a picture and an account (freeing
 * space), /readyz must say which store is full, and stored pictures must still be served.
 */

const MOUNT_SIZE = '48m';
let dir = '';
let mounted = false;
let server: RunningServer;
const tokens: Record<string, string> = {};
let stormPictureId = '';

const freeBytes = (): number => { const s = statfsSync(dir); return s.bavail * s.bsize; };
const readyz = async (): Promise<{ status: string; checks: Record<string, string> }> => (await api(server.base, 'GET', '/readyz')).body;

/** Writes zeros to `file` until the volume refuses more, in ever smaller pieces. */
function fillRemaining(file: string): void {
  const fd = openSync(file, 'a');
  try {
    for (let chunk = 1 << 20; chunk >= 512; chunk >>= 1) {
      const zeros = Buffer.alloc(chunk);
      for (;;) {
        try { writeSync(fd, zeros); } catch { break; }
      }
    }
  } finally {
    closeSync(fd);
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'onepic-full-'));
  // No skip: a run that cannot make the volume has not shown the bound, so it fails here.
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${MOUNT_SIZE}`, 'tmpfs', dir]);
  mounted = true;
  server = await startServer({ dataDir: dir, env: {
    ONEPIC_METADATA: 'embedded', ONEPIC_BLOBS: 'fs', ONEPIC_SWEEP_INTERVAL_SECONDS: '0',
    // The attacked picture is not one uploaded a moment ago: its delete collects its blobs at once.
    ONEPIC_SWEEP_GRACE_SECONDS: '0',
  } });
  for (const name of ['storm', 'reader', 'leaver']) {
    tokens[name] = await register(server.base, name);
    const res = await upload(server.base, name, tokens[name]!, await noisyJpeg(1600, 1200), '?active=true');
    expect(res.status).toBe(201);
    if (name === 'storm') stormPictureId = ((await res.json()) as { id: string }).id;
  }
  // The reader's picture has a stored large rendition before the volume fills.
  expect((await getImage(`${server.base}/reader.png?s=2048`)).status).toBe(200);
  // The attack: anonymous GETs of sizes never asked before, each stored on first request.
  for (let s = 2048; s > 2030 && freeBytes() > 1 << 20; s--) {
    await getImage(`${server.base}/storm.png?s=${s}`);
    await sleep(100);
  }
  // Renditions are stored after their answer: let the last puts finish (or fail) first.
  await sleep(1_000);
  fillRemaining(path.join(dir, 'filler'));
}, 120_000);

afterAll(async () => {
  await server?.kill();
  if (mounted) execFileSync('umount', [dir]);
  if (dir) rmdirSync(dir);
});

describe('a full data volume (issue 13, item 2)', () => {
  it('is full, and /readyz says so, naming the store', async () => {
    expect(freeBytes()).toBeLessThan(1 << 20);
    const ready = await readyz();
    expect(ready.status).toBe('degraded');
    expect(ready.checks.blobs).toBe('full');
  });

  it('keeps serving reads: stored renditions and renders it cannot store', async () => {
    for (const url of [`${server.base}/reader.png?s=2048`, `${server.base}/reader.webp?s=321`, `${server.base}/reader.jpg?s=123`]) {
      const res = await getImage(url);
      expect(res.status, url).toBe(200);
      const meta = await sharp(res.bytes).metadata();
      expect(meta.width, url).toBe(Number(new URL(url).searchParams.get('s')));
    }
  });

  it('deletes a picture (204) and frees its space', async () => {
    const before = freeBytes();
    const res = await api(server.base, 'DELETE', `/api/v1/users/storm/pictures/${stormPictureId}`, { token: tokens.storm });
    expect(res.status).toBe(204);
    expect(await eventually(() => freeBytes() > before, 5_000)).toBe(true);
    expect((await api(server.base, 'GET', '/api/v1/users/storm/pictures', { token: tokens.storm })).body.pictures).toEqual([]);
  });

  it('deletes an account (204) when full again', async () => {
    // Space back, then full again: whatever the first delete used must be in place once more.
    rmSync(path.join(dir, 'filler'));
    expect(await eventually(async () => (await readyz()).status === 'ready', 10_000)).toBe(true);
    fillRemaining(path.join(dir, 'filler'));
    expect(await readyz()).toMatchObject({ status: 'degraded', checks: { blobs: 'full' } });
    const res = await api(server.base, 'DELETE', '/api/v1/users/leaver', { token: tokens.leaver });
    expect(res.status).toBe(204);
    expect((await getImage(`${server.base}/leaver.png`)).status).not.toBe(200);
  });

  it('is ready again once space is freed', async () => {
    rmSync(path.join(dir, 'filler'));
    expect(await eventually(async () => (await readyz()).status === 'ready', 10_000)).toBe(true);
    const res = await upload(server.base, 'reader', tokens.reader!, await noisyJpeg(800, 600));
    expect(res.status).toBe(201);
  });
});
