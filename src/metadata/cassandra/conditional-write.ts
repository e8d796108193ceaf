import cassandra from 'cassandra-driver';
import { StoreUnavailableError } from '../../domain/errors.js';
import { asStoreError, isUnavailable } from './store-errors.js';

const { types } = cassandra;
const { localQuorum, localSerial } = types.consistencies;

/**
 * Consistency. Writes and reads run at LOCAL_QUORUM: with RF 3 in production, any two quorums of
 * three replicas overlap, so a read sees every write acknowledged before it, and one replica
 * may be down. With RF 1 (a laptop, CI) a quorum is the one node. Conditional writes run Paxos
 * at LOCAL_SERIAL among the local data center's replicas; OnePic deploys one data center, where
 * LOCAL_SERIAL is SERIAL without the cross-DC round trips. (Active-active across data centers
 * would need SERIAL for username uniqueness to hold across them.)
 */
export const READ = { prepare: true, consistency: localQuorum, isIdempotent: true } as const;
/** A SERIAL read first finishes any Paxos round in flight on the partition, then reads. */
export const SERIAL_READ = { prepare: true, consistency: localSerial, isIdempotent: true } as const;
/** Not idempotent: the driver must never resend a conditional write on its own. */
export const CONDITIONAL = { prepare: true, consistency: localQuorum, serialConsistency: localSerial, isIdempotent: false } as const;
export const PLAIN_WRITE = { prepare: true, consistency: localQuorum, isIdempotent: true } as const;

/**
 * What a SERIAL read says about a conditional write whose answer was lost: it applied; it did
 * not, and nothing of it will (the SERIAL read finished or superseded its Paxos round), so the
 * method may start over; or the state cannot tell (e.g. a later write overwrote it).
 */
export type Resolution = 'applied' | 'not_applied' | 'unknown';

/** Returned by a method's attempt to ask for another one: a condition failed or a write was lost. */
export const AGAIN: unique symbol = Symbol('again');
export type Attempt<T> = Promise<T | typeof AGAIN>;

/**
 * Runs a conditional write. True when it applied, false when its condition did not hold.
 *
 * When the answer is lost (a server timeout with writeType CAS, a client timeout, a node gone
 * mid-request) the write may or may not have been applied, and may yet be by a Paxos round in
 * flight. Guessing either way breaks the contract, so `resolve` reads the row at LOCAL_SERIAL
 * and decides. If that read fails too, or cannot tell, the store is unavailable (503).
 */
export async function conditionalWrite(
  write: () => Promise<cassandra.types.ResultSet>,
  resolve: () => Promise<Resolution>,
): Promise<boolean | typeof AGAIN> {
  try {
    return (await write()).wasApplied();
  } catch (err) {
    if (!isUnavailable(err)) throw err;
    let resolution: Resolution;
    try {
      resolution = await resolve();
    } catch {
      throw new StoreUnavailableError('metadata', err);
    }
    if (resolution === 'applied') return true;
    if (resolution === 'not_applied') return AGAIN;
    throw new StoreUnavailableError('metadata', err);
  }
}

/** Enough for a handful of concurrent writers on one partition (one user's own requests). */
const MAX_ATTEMPTS = 8;

/**
 * Runs a method's attempt until it returns a result. Only compare-and-set loops come back here:
 * every attempt reads, then writes on condition that what it read still holds, so a retry can
 * never apply a decision taken on stale state. Backoff with jitter keeps two writers of one
 * partition from colliding again in lockstep.
 */
export async function withRetries<T>(attempt: () => Attempt<T>): Promise<T> {
  for (let n = 0; n < MAX_ATTEMPTS; n++) {
    if (n > 0) await sleep(Math.random() * Math.min(200, 5 * 2 ** n));
    let result: T | typeof AGAIN;
    try {
      result = await attempt();
    } catch (err) {
      throw asStoreError(err);
    }
    if (result !== AGAIN) return result;
  }
  throw new StoreUnavailableError('metadata', new Error(`A conditional write lost to concurrent writes ${MAX_ATTEMPTS} times.`));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
