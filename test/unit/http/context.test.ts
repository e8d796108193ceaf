import { describe, expect, it } from 'vitest';
import { requestIdFrom } from '../../../src/http/context.js';

describe('request ids', () => {
  it.each(['abc', 'req-42.retry_1', 'A'.repeat(64), '0f8fad5b-d9cb-469f-a165-70867728950e'])('keeps the client\'s sane id %s', (id) => {
    expect(requestIdFrom(id)).toBe(id);
  });

  it.each(['', 'A'.repeat(65), 'has space', 'line\nbreak', 'quote"', 'ünï', 'a/b', '{"x":1}'])('replaces %j with a fresh id', (id) => {
    const fresh = requestIdFrom(id);
    expect(fresh).not.toBe(id);
    expect(fresh).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestIdFrom(id)).not.toBe(fresh);
  });
});
