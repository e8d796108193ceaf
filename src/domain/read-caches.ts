import type { ActiveLookup } from '../metadata/port.js';
import type { Rendition } from './rendition.js';

/**
 * The two in-memory caches of the read path, as the use cases see them (cache/ implements
 * them). `peek` never does I/O, so a read answered from memory costs no await; `load` reads
 * through, sharing one load among concurrent misses.
 */

/** username -> what `/{username}` serves, bounded in staleness across nodes. */
export interface ActiveLookups {
  /** A fresh entry, or undefined. */
  peek(username: string): ActiveLookup | undefined;
  /** Reads through to the metadata store. */
  load(username: string): Promise<ActiveLookup>;
  /** After a change on this node: its next read loads the committed state. */
  forget(username: string): void;
}

/** Rendition bytes by key (a public key, or a placeholder key): immutable content, never stale. */
export interface RenditionLookups {
  peek(key: string): Rendition | undefined;
  /** The entry, else the loader's result (kept when it fits). */
  load(key: string, loader: () => Promise<Rendition>): Promise<Rendition>;
  /** Drops every entry whose key starts with the prefix (a master's renditions, once it is deleted). */
  forgetPrefix(prefix: string): void;
}
