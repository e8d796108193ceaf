import { closeSync, openSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { HttpServer } from '../http/app.js';
import type { Metrics } from '../metrics/metrics.js';

/**
 * Keeps the node's connections below its descriptor limit. uWS accepts every connection it can
 * and has no hook where JavaScript could refuse one; when accept fails with EMFILE its listening
 * socket stays readable, so the event loop wakes forever (a core at 100 %) while file opens fail
 * too. Instead, the node counts its open descriptors (every connection is one) and, at the cap,
 * closes its listening sockets: new connections are refused at once by the kernel while
 * established ones go on being served. A burst can be accepted whole before the next count, so
 * the node also holds a few spare descriptors and lets go of them when it pauses: files, stores
 * and workers still have descriptors to open while the cap holds. Below the
 * resume mark (nine tenths of the cap) it listens again. Idle connections are closed by uWS
 * after its fixed idle timeout, so a pause lasts at most about that long once the holder stops
 * sending requests. Per-address limits belong to the proxy in front (deploy/), which sees every
 * connection before it costs the node a descriptor.
 */

const CHECK_INTERVAL_MS = 250;
const RESUME_SHARE = 0.9;
const SPARE_DESCRIPTORS = 32;

/** Descriptors held only to be given back when the node pauses (libuv's EMFILE trick, for the whole process). */
class Spares {
  #fds: number[] = [];
  take(): void {
    while (this.#fds.length < SPARE_DESCRIPTORS) this.#fds.push(openSync('/dev/null', 'r'));
  }
  release(): void {
    for (const fd of this.#fds.splice(0)) closeSync(fd);
  }
}

/** Descriptors the cap leaves free for files, stores and workers: an eighth, at least 64. */
export function descriptorCap(softLimit: number, maxConnections: number): number {
  const automatic = softLimit - Math.max(64, Math.floor(softLimit / 8));
  return maxConnections > 0 ? Math.min(maxConnections, automatic) : automatic;
}

/** The soft RLIMIT_NOFILE (Node raises it to the hard limit at start), or null off Linux. */
function softDescriptorLimit(): number | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft && /^\d+$/.test(soft) ? Number(soft) : null;
  } catch {
    return null;
  }
}

/** Counts open descriptors off the event loop; a failure to open the directory means none are left. */
async function openDescriptors(): Promise<number> {
  try {
    return (await readdir('/proc/self/fd')).length;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EMFILE' || (err as NodeJS.ErrnoException).code === 'ENFILE') return Infinity;
    throw err;
  }
}

/** Starts watching; returns the cap in force, or null when the platform gives no way to count. */
export function capConnections(
  servers: HttpServer[], maxConnections: number, deps: { log: Logger; metrics: Metrics },
): number | null {
  const limit = softDescriptorLimit();
  if (limit === null) {
    deps.log.warn('cannot read the descriptor limit here (no /proc): connections are not capped');
    return null;
  }
  const cap = descriptorCap(limit, maxConnections);
  const resumeAt = Math.floor(cap * RESUME_SHARE);
  const { metrics, log } = deps;
  let open = 0;
  let paused = false;
  const spares = new Spares();
  spares.take();
  metrics.openDescriptors.report((g) => g.set(Number.isFinite(open) ? open : limit));
  metrics.descriptorCap.report((g) => g.set(cap));
  metrics.accepting.report((g) => g.set(paused ? 0 : 1));

  const check = async (): Promise<void> => {
    open = await openDescriptors();
    if (!paused && open >= cap) {
      paused = true;
      for (const s of servers) s.pauseAccepting();
      spares.release();
      metrics.acceptPauses.inc();
      log.warn({ open, cap, resumeAt }, 'descriptor cap reached: refusing new connections');
    } else if (paused && open <= resumeAt) {
      spares.take();
      // Every server tries; one that cannot bind yet keeps the node paused until the next check.
      paused = !servers.map((s) => s.resumeAccepting()).every(Boolean);
      if (!paused) log.info({ open, cap }, 'below the descriptor cap again: accepting connections');
    }
  };
  const loop = (): void => {
    check().catch((err: unknown) => log.error({ err }, 'descriptor count failed')).finally(() => {
      const next = setTimeout(loop, CHECK_INTERVAL_MS);
      // Paused with every connection gone, nothing else keeps the process alive: this timer must.
      if (!paused) next.unref();
    });
  };
  loop();
  return cap;
}
