import cassandra from 'cassandra-driver';
import { describe, expect, it, vi } from 'vitest';
import { StoreUnavailableError } from '../../../../src/domain/errors.js';
import { AGAIN, conditionalWrite, withRetries } from '../../../../src/metadata/cassandra/conditional-write.js';
import { isUnavailable } from '../../../../src/metadata/cassandra/store-errors.js';

const { errors, types } = cassandra;

const casTimeout = () => Object.assign(new errors.ResponseError(types.responseErrorCodes.writeTimeout, 'CAS timeout'), { writeType: 'CAS' });
const applied = (value: boolean) => async () => ({ wasApplied: () => value }) as unknown as cassandra.types.ResultSet;

describe('conditionalWrite', () => {
  it('answers whether the condition held, without a SERIAL read', async () => {
    const resolve = vi.fn();
    expect(await conditionalWrite(applied(true), resolve)).toBe(true);
    expect(await conditionalWrite(applied(false), resolve)).toBe(false);
    expect(resolve).not.toHaveBeenCalled();
  });

  it('decides a lost answer by the SERIAL read: applied, start over, or 503', async () => {
    const lost = () => Promise.reject(casTimeout());
    expect(await conditionalWrite(lost, async () => 'applied')).toBe(true);
    expect(await conditionalWrite(lost, async () => 'not_applied')).toBe(AGAIN);
    await expect(conditionalWrite(lost, async () => 'unknown')).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('answers 503 when the SERIAL read fails too, keeping the write\'s error as the cause', async () => {
    const error = new errors.NoHostAvailableError({});
    const rejection = conditionalWrite(() => Promise.reject(error), () => Promise.reject(new Error('down')));
    await expect(rejection).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(rejection).rejects.toHaveProperty('cause', error);
  });

  it('lets a statement error through unresolved: it is a bug, not an outage', async () => {
    const invalid = new errors.ResponseError(types.responseErrorCodes.invalid, 'Undefined column name');
    const resolve = vi.fn();
    await expect(conditionalWrite(() => Promise.reject(invalid), resolve)).rejects.toBe(invalid);
    expect(resolve).not.toHaveBeenCalled();
  });
});

describe('isUnavailable', () => {
  it('names the errors that mean the cluster could not answer', () => {
    expect(isUnavailable(new errors.OperationTimedOutError('slow'))).toBe(true);
    expect(isUnavailable(new errors.NoHostAvailableError({}))).toBe(true);
    expect(isUnavailable(new errors.ResponseError(types.responseErrorCodes.unavailableException, 'x'))).toBe(true);
    expect(isUnavailable(new errors.ResponseError(types.responseErrorCodes.readTimeout, 'x'))).toBe(true);
    expect(isUnavailable(casTimeout())).toBe(true);
    expect(isUnavailable(new errors.ResponseError(types.responseErrorCodes.syntaxError, 'x'))).toBe(false);
    expect(isUnavailable(new TypeError('x'))).toBe(false);
  });
});

describe('withRetries', () => {
  it('runs the attempt again until it answers, and gives up with 503', async () => {
    let calls = 0;
    expect(await withRetries(async () => (++calls < 3 ? AGAIN : 'done'))).toBe('done');
    expect(calls).toBe(3);
    await expect(withRetries(async () => AGAIN)).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('maps an outage to 503 and lets other errors through', async () => {
    await expect(withRetries(() => Promise.reject(new errors.OperationTimedOutError('slow')))).rejects.toBeInstanceOf(StoreUnavailableError);
    const bug = new TypeError('bug');
    await expect(withRetries(() => Promise.reject(bug))).rejects.toBe(bug);
  });
});
