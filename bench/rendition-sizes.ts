/**
 * Bytes of the stored renditions of one picture: every size on the stored-size ladder, in every
 * format, rendered by the built pool from the master an upload makes. The figure DESIGN section
 * 9.1 states as the bound of stored bytes per picture comes from here. Prints a table; stores
 * nothing. No timing: run it on a loaded machine as well as an idle one.
 */
import { importBuilt } from './lib/built.js';
import { noiseJpeg, phoneJpegs } from './lib/images.js';

const { ImagingPool } = await importBuilt('imaging/pool.js');
const { loadConfig } = await importBuilt('config/index.js');
const config = loadConfig({});
const formats = ['jpeg', 'png', 'webp', 'avif'] as const;
const pool = new ImagingPool({ threads: 1, maxQueue: 4, limits: config.imaging });

const sources: Array<[string, Buffer]> = [['phone-style photo 1600x1200', (await phoneJpegs(1))[0]!], ['random noise 1200x1200', await noiseJpeg(1200)]];
console.log(`ladder ${config.read.storedSizes.join(', ')}; master size ${config.imaging.masterSize}`);
console.log(`| source | ${formats.join(' | ')} | all four |\n|---|---|---|---|---|---|`);
for (const [name, input] of sources) {
  const { master } = await pool.processUpload(input);
  const perFormat: number[] = [];
  for (const format of formats) {
    let bytes = 0;
    for (const size of config.read.storedSizes) bytes += (await pool.render(master, size, format)).length;
    perFormat.push(bytes);
  }
  const total = perFormat.reduce((a, b) => a + b, 0);
  console.log(`| ${name} | ${perFormat.map((b) => b.toLocaleString('en')).join(' | ')} | ${total.toLocaleString('en')} |`);
}
await pool.close();
