/**
 * What keeps request bodies from taking the node's memory: a budget of body bytes in flight for
 * the whole node, and a number of uploads each account may have in flight. A body's bytes are
 * reserved before any of it is read (its Content-Length, or the route's limit when it has none),
 * and an upload's account slot is taken once its token is checked, also before its body is read;
 * past either bound the request is refused at once (503 or 429, with Retry-After), so a node under
 * many slow uploads holds at most the budget, never the sum of what clients announce.
 */

/** Gives back what was taken; calling it again does nothing. */
export type Release = () => void;

/** Body bytes in flight on this node, against a fixed budget. */
export class BodyBudget {
  private used = 0;

  constructor(private readonly budget: number) {}

  /** Reserves `bytes`, or returns undefined when they would pass the budget. */
  reserve(bytes: number): Release | undefined {
    if (this.used + bytes > this.budget) return undefined;
    this.used += bytes;
    return once(() => { this.used -= bytes; });
  }
}

/** Uploads in flight per account. */
export class AccountSlots {
  private readonly held = new Map<string, number>();

  constructor(readonly perAccount: number) {}

  /** Takes one of `account`'s slots, or returns undefined when it has none left. */
  enter(account: string): Release | undefined {
    const n = this.held.get(account) ?? 0;
    if (n >= this.perAccount) return undefined;
    this.held.set(account, n + 1);
    return once(() => {
      const left = this.held.get(account)! - 1;
      if (left === 0) this.held.delete(account);
      else this.held.set(account, left);
    });
  }
}

function once(fn: () => void): Release {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
