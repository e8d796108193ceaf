#!/usr/bin/env node
// Master quality benchmark (issue 5): what the master's settings do to the renditions served
// from it. Speed is bench/imaging.mjs's business; this one says what a faster or smaller master
// costs in picture quality, so that a setting is chosen on both.
//
//   npm run build && npm run bench:quality
//   BENCH_PHOTOS=/path/to/jpegs npm run bench:quality     # real photos instead of the synthetic ones
//
// Each source is a phone-style 1600x1200 JPEG (q90, EXIF orientation 6). By default these are
// bench/upload.mjs phoneJpegs() (smooth colour fields plus sensor-like noise); BENCH_PHOTOS
// names a directory of JPEG photos, each cropped and scaled to 1600x1200 and re-encoded the same
// way. For each source and each rendition size s, the reference is made straight from the
// source: the centred square, turned upright, resized to s with Lanczos-3, never encoded. Each
// master setting is then scored by what a client receives: the master, rendered to s and
// encoded exactly as the server does (renderRendition, JPEG), compared with the reference.
// The score is PSNR over the RGB values, in dB (higher is better; above about 40 dB a
// difference is hard to see). Rows: the shipped settings through the real processUpload at the
// default and at a 1024 master, and the settings they replaced, made with sharp directly.
import { readdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { phoneJpegs, conditions, writeResults } from './upload.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (path) => import(pathToFileURL(join(ROOT, 'dist', path)).href);
const sharp = (await import('sharp')).default;
const { processUpload } = await dist('imaging/process-upload.js');
const { renderRendition } = await dist('imaging/render.js');
const { loadConfig } = await dist('config/index.js');

const SIZES = [64, 128, 256, 512, 768, 1024];
const DEFAULT_MASTER = loadConfig({}).imaging.masterSize;
const limits = (masterSize) => ({ maxPixels: 50_000_000, minSide: 16, maxFrames: 1000, masterSize });

// ---------- sources ----------
async function sources() {
  const dir = process.env.BENCH_PHOTOS;
  if (!dir) return { kind: 'synthetic: bench/upload.mjs phoneJpegs(), 1600x1200 JPEG q85, EXIF orientation 6', images: await phoneJpegs(8) };
  const files = readdirSync(dir).filter((f) => /\.jpe?g$/i.test(f)).sort();
  if (files.length === 0) throw new Error(`BENCH_PHOTOS=${dir} holds no .jpg files`);
  const images = [];
  for (const f of files) {
    images.push(await sharp(readFileSync(join(dir, f))).autoOrient().resize(1600, 1200, { fit: 'cover' })
      .withMetadata({ orientation: 6 }).jpeg({ quality: 90 }).toBuffer());
  }
  return { kind: `photos: ${files.length} JPEGs from ${dir} (${files.join(', ')}), cropped and scaled to 1600x1200, JPEG q90, tagged EXIF orientation 6`, images };
}

// ---------- master settings ----------
const shipped = (masterSize) => async (input) => (await processUpload(input, limits(masterSize))).result.master;
/** A master made with sharp directly, for settings the code no longer has: cut as processUpload cuts a 1600x1200 source. */
const direct = (side, kernel, jpeg) => (input) => sharp(input, { ignoreIcc: true })
  .extract({ left: 200, top: 0, width: 1200, height: 1200 }).resize(side, side, { kernel }).rotate(90)
  .jpeg({ quality: 90, mozjpeg: false, optimiseCoding: false, ...jpeg }).toBuffer();
const settings = [
  { name: `shipped: ${DEFAULT_MASTER} master (default), Catmull-Rom, JPEG q90 4:2:0`, make: shipped(DEFAULT_MASTER) },
  { name: 'shipped settings, ONEPIC_MASTER_SIZE=1024', make: shipped(1024) },
  { name: 'before: 1024 master, Lanczos-3, JPEG q90 4:4:4', make: direct(1024, 'lanczos3', { chromaSubsampling: '4:4:4' }) },
  { name: 'before, at a 768 master', make: direct(768, 'lanczos3', { chromaSubsampling: '4:4:4' }) },
];

// ---------- scoring ----------
function psnr(a, b) {
  let se = 0;
  for (let i = 0; i < a.length; i++) { const d = a[i] - b[i]; se += d * d; }
  return 10 * Math.log10((255 * 255) / (se / a.length));
}
const raw = (image) => sharp(image).removeAlpha().raw().toBuffer();

const { kind, images } = await sources();
console.error(`scoring ${settings.length} master settings on ${images.length} images at s = ${SIZES.join(', ')}...`);
const scores = settings.map(() => ({ bytes: [], psnr: Object.fromEntries(SIZES.map((s) => [s, []])) }));
for (const input of images) {
  const upright = await sharp(input).autoOrient().toBuffer();
  const { width, height } = await sharp(upright).metadata();
  const crop = Math.min(width, height);
  const square = () => sharp(upright).extract({ left: (width - crop) >> 1, top: (height - crop) >> 1, width: crop, height: crop });
  const reference = {};
  for (const s of SIZES) reference[s] = await square().resize(s, s, { kernel: 'lanczos3' }).raw().toBuffer();
  for (const [i, setting] of settings.entries()) {
    const master = await setting.make(input);
    scores[i].bytes.push(master.length);
    for (const s of SIZES) scores[i].psnr[s].push(psnr(await raw(await renderRendition(master, s, 'jpeg')), reference[s]));
  }
}

// ---------- report ----------
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const rows = settings.map((setting, i) => ({
  name: setting.name,
  master_kib: +(mean(scores[i].bytes) / 1024).toFixed(1),
  psnr_db: Object.fromEntries(SIZES.map((s) => [s, +mean(scores[i].psnr[s]).toFixed(2)])),
}));
const result = { name: 'master-quality', conditions: conditions({ sources: kind, sizes: SIZES, rendition: 'renderRendition(master, s, "jpeg")' }), rows };
const markdown = [
  `## Master quality benchmark (${result.conditions.date})`, '',
  '| master setting | master KiB | ' + SIZES.map((s) => `s=${s}`).join(' | ') + ' |',
  '|---|---|' + SIZES.map(() => '---|').join(''),
  ...rows.map((r) => `| ${r.name} | ${r.master_kib} | ` + SIZES.map((s) => r.psnr_db[s]).join(' | ') + ' |'),
  '',
  `PSNR in dB of the JPEG rendition a client receives at each size, against the centred square of the source resized straight to that size (Lanczos-3, not encoded); mean over ${images.length} images. Sources: ${kind}. `
  + `Conditions: Node ${process.version}, OnePic ${result.conditions.versions.onepic} (${result.conditions.versions.onepic_commit}), sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}. Reproduce: \`npm run build && npm run bench:quality\` (see the header of bench/master-quality.mjs).`,
].join('\n');
console.log(markdown);
writeResults(process.env.BENCH_PHOTOS ? 'master-quality-photos' : 'master-quality', result, markdown);
