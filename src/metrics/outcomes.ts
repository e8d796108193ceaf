import { AppError } from '../domain/errors.js';

/**
 * How an operation ended, as an `outcome` label: the success name, the stable AppError code it
 * failed with (a fixed set, so the label stays bounded), or `internal` for anything else.
 */
function outcomeOf(err: unknown): string {
  return err instanceof AppError ? err.code : 'internal';
}

/** Runs `run`, passing its outcome to `count` once it settles, and returns or rethrows what it did. */
export async function countOutcome<T>(run: () => Promise<T>, success: string, count: (outcome: string) => void): Promise<T> {
  try {
    const result = await run();
    count(success);
    return result;
  } catch (err) {
    count(outcomeOf(err));
    throw err;
  }
}
