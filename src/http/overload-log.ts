import type { Logger } from 'pino';

/**
 * Warnings for expected overload conditions (503 `busy`, `shutting_down`, a store not
 * answering), which come in bursts of thousands: the first of a code is logged, the rest of
 * the interval only counted, and the count logged as one line when the interval ends. No stack:
 * the condition, not the code path, is what an operator needs.
 */
export class OverloadLog {
  private readonly windows = new Map<string, { until: number; suppressed: number; timer?: NodeJS.Timeout }>();

  constructor(private readonly log: Logger, private readonly intervalMs = 1000) {}

  warn(code: string, fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    const window = this.windows.get(code);
    if (window && now < window.until) {
      window.suppressed += 1;
      window.timer ??= setTimeout(() => this.flush(code), window.until - now).unref();
      return;
    }
    this.windows.set(code, { until: now + this.intervalMs, suppressed: 0 });
    this.log.warn({ ...fields, code }, message);
  }

  /** Logs the interval's count and opens the next interval, so a steady flood logs once per interval. */
  private flush(code: string): void {
    const suppressed = this.windows.get(code)?.suppressed ?? 0;
    this.windows.set(code, { until: Date.now() + this.intervalMs, suppressed: 0 });
    this.log.warn({ code, suppressed, intervalMs: this.intervalMs }, `${suppressed} more ${code} responses, not logged one by one`);
  }
}
