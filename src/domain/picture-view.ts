import type { PictureRecord } from '../metadata/port.js';
import { publicKey } from './keys.js';

/** A picture as the API shows it. */
export interface PictureView {
  id: string;
  label: string;
  active: boolean;
  width: number;
  height: number;
  bytes: number;
  createdAt: string;
  url: string;
}

/** How the API shows a stored picture; `url` serves it at the master's size and format. */
export function toView(p: PictureRecord, active: boolean): PictureView {
  return {
    id: p.id, label: p.label, active, width: p.width, height: p.height, bytes: p.bytes,
    createdAt: p.createdAt.toISOString(),
    url: `/i/${publicKey({ username: p.username, hash: p.hash, size: p.width, format: p.format })}`,
  };
}
