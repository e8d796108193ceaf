import { ActiveCache } from '../cache/active-cache.js';
import { RenditionCache } from '../cache/rendition-cache.js';
import type { Config } from '../config/index.js';
import { Accounts } from '../domain/accounts.js';
import { Avatars } from '../domain/avatars.js';
import { LoginThrottle } from '../domain/login-throttle.js';
import { Pictures } from '../domain/pictures.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Imaging } from '../domain/imaging.js';
import type { Stores } from './wire-stores.js';

/** The use cases the routes call, over the caches of the read path. */
export interface UseCases {
  accounts: Accounts;
  pictures: Pictures;
  avatars: Avatars;
}

/** Builds the read-path caches and the use cases over the stores and the imaging pool. */
export function wireUseCases(config: Config, { store, blobs }: Stores, imaging: Imaging, metrics: Metrics): UseCases {
  const active = new ActiveCache(store, { ttlMs: config.read.activeTtlMs, maxEntries: config.read.activeEntries }, metrics);
  const renditions = new RenditionCache({ maxBytes: config.read.renditionCacheBytes }, metrics);
  const accounts = new Accounts(store, {
    tokenTtlMs: config.auth.tokenTtlMs,
    throttle: new LoginThrottle({
      windowMs: config.auth.loginWindowMs, failuresPerAccount: config.auth.failuresPerAccount, failuresPerIp: config.auth.failuresPerIp,
    }),
  });
  // Uploads take milliseconds from blob put to metadata insert; a minute is a wide margin.
  const pictures = new Pictures(store, blobs, imaging, active, renditions, { recentWriteMs: Math.min(60_000, config.sweeper.graceMs) });
  const placeholders = new RenditionCache({ maxBytes: config.read.placeholderCacheBytes, name: 'placeholder' }, metrics);
  const avatars = new Avatars(active, renditions, blobs, imaging, config.read, placeholders);
  return { accounts, pictures, avatars };
}
