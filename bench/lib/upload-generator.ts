/**
 * Runs one upload load (an UploadLoadSpec) and prints its LoadSummary as JSON on stdout.
 * Started by path from http-load.ts, in its own pinned process.
 * Usage: node upload-generator.js <spec.json>
 */
import { readFileSync } from 'node:fs';
import { drive, type UploadLoadSpec } from './http-load.js';

const spec = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as UploadLoadSpec;
const images = spec.images.map((f) => readFileSync(f));
let k = 0;
const summary = await drive({
  port: spec.port, seconds: spec.seconds, concurrency: spec.concurrency,
  ...(spec.ratePerSecond ? { intervalMs: 1000 / spec.ratePerSecond } : {}),
  next: () => {
    const i = k++;
    const user = spec.users[(i * spec.userStride) % spec.users.length];
    if (!user) throw new Error('no users to upload as');
    return {
      path: `/api/v1/users/${user.name}/pictures?active=true`, method: 'POST',
      headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': 'image/jpeg' }, body: images[i % images.length],
    };
  },
});
process.stdout.write(JSON.stringify(summary));
