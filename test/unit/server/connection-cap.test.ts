import { describe, expect, it } from 'vitest';
import { descriptorCap } from '../../../src/server/connection-cap.js';

describe('descriptorCap', () => {
  it('keeps an eighth of the descriptor limit, at least 64, for files, stores and workers', () => {
    expect(descriptorCap(1024, 0)).toBe(896);
    expect(descriptorCap(65_536, 0)).toBe(57_344);
    expect(descriptorCap(256, 0)).toBe(192);
  });

  it('takes a lower ONEPIC_MAX_CONNECTIONS, never a higher one', () => {
    expect(descriptorCap(1024, 500)).toBe(500);
    expect(descriptorCap(1024, 5000)).toBe(896);
  });
});
