import { closeSync, fsyncSync, openSync, rmSync, statSync, writeSync } from 'node:fs';

const CHUNK = 1 << 20;

/**
 * A file of zeros that holds space on the database's volume. SQLite must write its WAL even to
 * delete rows, so on a full volume the deletes that would free space fail too; releasing this
 * file gives them room. Once released it is made again as soon as the volume has room, retried
 * on a timer, so the next full volume finds it in place.
 */
export class DiskReserve {
  private held = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly path: string, private readonly bytes: number, private readonly retryMs = 2_000) {}

  /** True when the space is held; tries to take it if not. A volume without room answers false. */
  ensure(): boolean {
    if (this.held || this.bytes === 0) return true;
    try {
      if (fileSize(this.path) !== this.bytes) write(this.path, this.bytes);
      this.held = true;
      this.stopRetrying();
    } catch {
      rmSync(this.path, { force: true });
    }
    return this.held;
  }

  /** Gives the space back, for a write that frees more; false when none was held. */
  release(): boolean {
    if (!this.held) return false;
    rmSync(this.path, { force: true });
    this.held = false;
    this.timer ??= setInterval(() => this.ensure(), this.retryMs).unref();
    return true;
  }

  stopRetrying(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return -1;
  }
}

/** Real zeros, not a sparse file: only written blocks are taken from the volume. */
function write(path: string, bytes: number): void {
  const fd = openSync(path, 'w', 0o600);
  try {
    const zeros = Buffer.alloc(Math.min(CHUNK, bytes));
    for (let left = bytes; left > 0; left -= zeros.length) writeSync(fd, zeros, 0, Math.min(zeros.length, left));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
