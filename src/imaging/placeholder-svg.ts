import { createHash } from 'node:crypto';

/**
 * SVG drawings of the generated defaults. Each is drawn on a 100x100 (or grid-sized) viewBox
 * and scaled by the width/height attributes, so one drawing serves every size and the
 * rasteriser, not this code, deals with anti-aliasing. Only our own SVG is ever rasterised:
 * user uploads never reach an SVG decoder (see sniff.ts).
 */

const svgOpen = (size: number, viewBox: string, extra = '') =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="${viewBox}"${extra}>`;

/** Gravatar's "mystery person": a neutral grey head and shoulders, the same for everyone. */
export function mysteryPersonSvg(size: number): string {
  return svgOpen(size, '0 0 100 100')
    + '<rect width="100" height="100" fill="#c8ccd0"/>'
    + '<circle cx="50" cy="38" r="19" fill="#f1f2f4"/>'
    + '<path d="M14 100 C14 74 30 62 50 62 C70 62 86 74 86 100 Z" fill="#f1f2f4"/>'
    + '</svg>';
}

/**
 * A GitHub-style identicon: 5x5 cells, mirrored left to right, on a light margin. Fifteen bits
 * of SHA-256(seed) choose the cells of the left three columns and others the colour, so a
 * seed always gets the same picture and two seeds almost never share one.
 */
export function identiconSvg(seed: string, size: number): string {
  const digest = sha256(seed);
  const colour = colourFrom(digest);
  const cells: string[] = [];
  for (let column = 0; column < 3; column++) {
    for (let row = 0; row < 5; row++) {
      const bit = column * 5 + row;
      if (((digest[bit >> 3] ?? 0) >> (bit & 7)) & 1) {
        for (const x of new Set([column, 4 - column])) cells.push(`M${x + 0.5} ${row + 0.5}h1v1h-1z`);
      }
    }
  }
  // crispEdges keeps cell borders sharp when the size is not a multiple of the grid.
  return svgOpen(size, '0 0 6 6', ' shape-rendering="crispEdges"')
    + '<rect width="6" height="6" fill="#f0f0f0"/>'
    + `<path d="${cells.join('')}" fill="${colour}"/>`
    + '</svg>';
}

/** Up to two letters on a colour derived from the seed: "arpit-b" -> "AB", "arpit" -> "A". */
export function initialsSvg(seed: string, size: number): string {
  const letters = initialsOf(seed);
  const text = letters
    ? '<text x="50" y="50" text-anchor="middle" dominant-baseline="central" fill="#ffffff" '
      + `font-family="DejaVu Sans, sans-serif" font-weight="bold" font-size="${letters.length > 1 ? 40 : 48}">${letters}</text>`
    : '';
  return svgOpen(size, '0 0 100 100') + `<rect width="100" height="100" fill="${colourFrom(sha256(seed))}"/>` + text + '</svg>';
}

/**
 * The letters: first characters of the first two parts of the seed split at '-', '_', '.' or
 * spaces. Only ASCII letters and digits survive, which also keeps the SVG free of markup.
 */
export function initialsOf(seed: string): string {
  const parts = seed.toUpperCase().split(/[^A-Z0-9]+/).filter((part) => part.length > 0);
  return parts.slice(0, 2).map((part) => part[0]).join('');
}

function sha256(seed: string): Buffer {
  return createHash('sha256').update(seed).digest();
}

/**
 * A saturated, mid-light colour from the digest's last bytes: hue anywhere on the wheel, with
 * saturation and lightness held in a band where white text stays legible.
 */
function colourFrom(digest: Buffer): string {
  const hue = digest.readUInt16BE(28) % 360;
  const saturation = 45 + ((digest[30] ?? 0) % 20);
  const lightness = 40 + ((digest[31] ?? 0) % 12);
  return `hsl(${hue}, ${saturation}%, ${lightness}%)`;
}
