import { LRUCache } from 'lru-cache';
import { fail } from './errors.js';

/**
 * Counts failed logins per account and per client IP in fixed windows, so password guessing is
 * slowed without locking anyone out for long. The counts live in this process (an LRU bounded
 * in entries): with N nodes behind a balancer an attacker gets at most N times the budget,
 * which the docs state; a cluster-wide count would need a shared store on the login path.
 */
export interface LoginThrottleOptions {
  windowMs: number;
  failuresPerAccount: number;
  failuresPerIp: number;
  maxTracked?: number;
}

interface Window { failures: number; resetAt: number }

export class LoginThrottle {
  private readonly windows: LRUCache<string, Window>;

  constructor(private readonly options: LoginThrottleOptions, private readonly now: () => number = Date.now) {
    this.windows = new LRUCache({ max: options.maxTracked ?? 100_000, ttl: options.windowMs, ttlAutopurge: false });
  }

  /** Throws 429 with Retry-After when either budget is spent. */
  check(username: string, ip: string): void {
    for (const [key, limit] of this.keys(username, ip)) {
      const window = this.windows.get(key);
      if (window && window.failures >= limit) {
        throw fail('rate_limited', (window.resetAt - this.now()) / 1000);
      }
    }
  }

  recordFailure(username: string, ip: string): void {
    for (const [key] of this.keys(username, ip)) {
      const window = this.windows.get(key);
      if (window) window.failures += 1;
      else this.windows.set(key, { failures: 1, resetAt: this.now() + this.options.windowMs });
    }
  }

  /** A successful login clears the account's count (not the IP's: one good password must not reset guessing at others). */
  recordSuccess(username: string): void {
    this.windows.delete(`u:${username}`);
  }

  private keys(username: string, ip: string): Array<[string, number]> {
    return [[`u:${username}`, this.options.failuresPerAccount], [`ip:${ip}`, this.options.failuresPerIp]];
  }
}
