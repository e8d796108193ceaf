import { describe, expect, it } from 'vitest';
import { KeyedSerial } from '../../../src/domain/keyed-serial.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('KeyedSerial', () => {
  it('runs one key\'s tasks one at a time, in order, other keys alongside, past a failure', async () => {
    const serial = new KeyedSerial();
    const log: string[] = [];
    const task = (name: string, ms: number, fail = false) => async () => {
      log.push(`start ${name}`);
      await sleep(ms);
      log.push(`end ${name}`);
      if (fail) throw new Error(name);
      return name;
    };
    const results = await Promise.allSettled([
      serial.run('a', task('a1', 20, true)), serial.run('a', task('a2', 5)), serial.run('b', task('b1', 5)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(results[1]).toEqual({ status: 'fulfilled', value: 'a2' });
    expect(log).toEqual(['start a1', 'start b1', 'end b1', 'end a1', 'start a2', 'end a2']);
  });

  it('never has two tasks of one key running at once', async () => {
    const serial = new KeyedSerial();
    let running = 0;
    let most = 0;
    const task = async () => {
      running += 1;
      most = Math.max(most, running);
      await sleep(1);
      running -= 1;
    };
    await Promise.all(Array.from({ length: 20 }, () => serial.run('k', task)));
    expect(most).toBe(1);
  });

  it('starts a task only after the previous one of its key has settled, even when it rejected', async () => {
    const serial = new KeyedSerial();
    let release!: () => void;
    const first = serial.run('k', () => new Promise<void>((_resolve, reject) => { release = () => reject(new Error('x')); }));
    let secondStarted = false;
    const second = serial.run('k', async () => { secondStarted = true; });
    await sleep(5);
    expect(secondStarted).toBe(false);
    release();
    await expect(first).rejects.toThrow('x');
    await second;
    expect(secondStarted).toBe(true);
  });

  it('drops a key once its last task settles, whether it succeeded or failed', async () => {
    const serial = new KeyedSerial();
    const done = [
      serial.run('a', async () => 1), serial.run('a', async () => { throw new Error('a'); }),
      serial.run('b', async () => { throw new Error('b'); }),
    ];
    expect(serial.busyKeys).toBe(2);
    await Promise.allSettled(done);
    await sleep(0);
    expect(serial.busyKeys).toBe(0);
  });
});
