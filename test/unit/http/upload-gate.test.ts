import { describe, expect, it } from 'vitest';
import { AccountSlots, BodyBudget } from '../../../src/http/upload-gate.js';

describe('BodyBudget', () => {
  it('reserves up to the budget, refuses past it, and takes back what is released (once)', () => {
    const budget = new BodyBudget(100);
    const a = budget.reserve(60)!;
    expect(a).toBeDefined();
    expect(budget.reserve(41)).toBeUndefined();
    const b = budget.reserve(40)!;
    expect(budget.reserve(1)).toBeUndefined();
    a();
    a(); // a second release gives nothing more back
    expect(budget.reserve(61)).toBeUndefined();
    expect(budget.reserve(60)).toBeDefined();
    b();
  });
});

describe('AccountSlots', () => {
  it('gives each account its own slots, and one back per release', () => {
    const slots = new AccountSlots(2);
    const a1 = slots.enter('alice')!;
    slots.enter('alice');
    expect(slots.enter('alice')).toBeUndefined();
    expect(slots.enter('bob')).toBeDefined();
    a1();
    a1();
    expect(slots.enter('alice')).toBeDefined();
    expect(slots.enter('alice')).toBeUndefined();
  });
});
