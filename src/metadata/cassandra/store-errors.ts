import cassandra from 'cassandra-driver';
import { StoreUnavailableError } from '../../domain/errors.js';

const { errors, types } = cassandra;
const codes = types.responseErrorCodes;

const UNAVAILABLE_CODES: ReadonlySet<number> = new Set([
  codes.unavailableException, codes.overloaded, codes.isBootstrapping,
  codes.readTimeout, codes.writeTimeout, codes.readFailure, codes.writeFailure,
]);

/**
 * The one place the Cassandra store decides which driver errors mean "the cluster could not
 * answer" (no node reachable, a node too slow, too few replicas alive): those become
 * StoreUnavailableError (503), and a conditional write failing so is resolved by a SERIAL read
 * (conditional-write.ts). Anything else is a bug in a statement and keeps its own error and stack.
 */
export function isUnavailable(err: unknown): boolean {
  return err instanceof errors.NoHostAvailableError
    || err instanceof errors.OperationTimedOutError
    || err instanceof errors.BusyConnectionError
    || (err instanceof errors.ResponseError && UNAVAILABLE_CODES.has(err.code));
}

export const asStoreError = (err: unknown): unknown => (isUnavailable(err) ? new StoreUnavailableError('metadata', err) : err);
