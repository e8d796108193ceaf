import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as images from '../fixtures/images.js';
import { phoneJpeg } from '../fixtures/images.js';
import { register, upload } from '../support/http.js';
import { type RunningServer, removeDataDir, startServer } from '../support/server.js';
import { eventually } from '../support/timing.js';

/** The server's JSON log lines (pino), parsed; anything else is kept as `raw`. */
function logLines(server: RunningServer): Array<Record<string, unknown>> {
  return server.output().split('\n').filter((l) => l.trim() !== '').map((line) => {
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      return { raw: line };
    }
  });
}

describe('a flood of 503 busy (ONEPIC_WORKERS=1, ONEPIC_WORKER_QUEUE=1)', () => {
  let server: RunningServer;
  let token: string;

  beforeAll(async () => {
    server = await startServer({ env: { ONEPIC_WORKERS: '1', ONEPIC_WORKER_QUEUE: '1' } });
    token = await register(server.base, 'flooder');
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
    await removeDataDir(server.dataDir);
  });

  it('logs the condition once an interval with a count, without stacks, not once a response', async () => {
    const photo = await phoneJpeg(1600, 1200);
    const started = Date.now();
    let busy = 0;
    for (let wave = 0; wave < 5; wave += 1) {
      const statuses = await Promise.all(Array.from({ length: 40 }, async () => {
        const res = await upload(server.base, 'flooder', token, photo);
        await res.arrayBuffer();
        return res.status;
      }));
      busy += statuses.filter((s) => s === 503).length;
    }
    const seconds = (Date.now() - started) / 1000;
    expect(busy).toBeGreaterThan(100);
    // Every busy response is accounted for: logged itself, or counted in a later line.
    const accounted = (): number => logLines(server).filter((l) => l.code === 'busy')
      .reduce((sum, l) => sum + (typeof l.suppressed === 'number' ? l.suppressed : 1), 0);
    await eventually(() => accounted() === busy, 5000);
    expect(accounted()).toBe(busy);
    const lines = logLines(server).filter((l) => l.code === 'busy');
    // At most two lines a second (the first of an interval, and its count), and a few to spare.
    expect(lines.length).toBeLessThanOrEqual(2 * Math.ceil(seconds + 2));
    expect(server.output()).not.toMatch(/\n\s+at /);
  });
});

describe('damaged uploads, which make libvips warn', () => {
  it('leave only JSON lines on the server\'s stdout and stderr', async () => {
    const server = await startServer({ env: { ONEPIC_WORKERS: '1', ONEPIC_LOG_LEVEL: 'debug' } });
    try {
      const token = await register(server.base, 'damaged');
      const whole = await images.noisyJpeg(800, 600);
      const flipped = Buffer.from(whole);
      for (let i = whole.length >> 1; i < whole.length - 16; i += 13) flipped[i]! ^= 0x5a;
      const dqt = whole.indexOf(Buffer.from([0xff, 0xdb]));
      const inputs = [
        flipped, await images.truncatedJpeg(), await images.truncatedJpegWithEnd(), images.garbageWithJpegMagic(),
        Buffer.concat([whole.subarray(0, dqt), Buffer.from([0, 0]), whole.subarray(dqt)]), await images.heicContainer(),
        (await images.opaquePng()).subarray(0, 900), (await images.gif()).subarray(0, 300), (await images.webp()).subarray(0, 400),
      ];
      const statuses: number[] = [];
      for (const bytes of inputs) {
        const res = await upload(server.base, 'damaged', token, bytes, '?active=true', 'application/octet-stream');
        await res.arrayBuffer();
        statuses.push(res.status);
        for (const format of ['png', 'webp', 'avif']) await (await fetch(`${server.base}/damaged.${format}?s=300`)).arrayBuffer();
      }
      expect(statuses.some((s) => s === 422)).toBe(true);
      expect(logLines(server).filter((l) => 'raw' in l)).toEqual([]);
    } finally {
      expect(await server.stop()).toBe(0);
      await removeDataDir(server.dataDir);
    }
  });
});
