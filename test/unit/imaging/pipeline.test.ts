import { describe, expect, it } from 'vitest';
import { Pipeline, type Stage, type StageTimings } from '../../../src/imaging/pipeline.js';
import { INSPECT, ONE_PASS, TWO_PASSES } from '../../../src/imaging/process-upload.js';

describe('the upload routes', () => {
  it('name their stages as the stage-time metric labels them', () => {
    const names = (pipeline: Pipeline<never, unknown>) => pipeline.stages.map((stage) => stage.name);
    expect(names(INSPECT)).toEqual(['sniff', 'probe']);
    expect(names(ONE_PASS)).toEqual(['transcode']);
    expect(names(TWO_PASSES)).toEqual(['decode_resize', 'encode']);
  });
});

describe('Pipeline.run', () => {
  const double: Stage<number, number> = { name: 'probe', run: (n) => n * 2 };
  const label: Stage<number, string> = { name: 'encode', run: async (n) => `n=${n}` };

  it('passes each stage the one before it gives, and times every stage', async () => {
    const timings: StageTimings = {};
    expect(await Pipeline.of(double, label).run(21, timings)).toBe('n=42');
    expect(Object.keys(timings).sort()).toEqual(['encode', 'probe']);
    for (const seconds of Object.values(timings)) expect(seconds).toBeGreaterThanOrEqual(0);
  });

  it('times the stage that fails and runs none after it', async () => {
    const refuse: Stage<number, number> = { name: 'sniff', run: async () => { throw new Error('refused'); } };
    const timings: StageTimings = {};
    await expect(Pipeline.of(refuse, label).run(1, timings)).rejects.toThrow('refused');
    expect(Object.keys(timings)).toEqual(['sniff']);
  });
});
