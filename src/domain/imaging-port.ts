import type { RenditionFormat } from './keys.js';
import type { PlaceholderKind, ProcessedUpload } from '../imaging/types.js';

/** What the use cases need of the imaging workers (implemented by imaging/pool.ts). */
export interface Imaging {
  processUpload(input: Uint8Array): Promise<ProcessedUpload>;
  render(master: Uint8Array, size: number, format: RenditionFormat): Promise<Buffer>;
  placeholder(kind: PlaceholderKind, seed: string, size: number, format: RenditionFormat): Promise<Buffer>;
}
