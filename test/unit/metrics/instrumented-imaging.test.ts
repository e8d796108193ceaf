import { describe, expect, it } from 'vitest';
import { fail } from '../../../src/domain/errors.js';
import type { Imaging } from '../../../src/domain/imaging.js';
import { instrumentImaging } from '../../../src/metrics/instrumented-imaging.js';
import { Metrics } from '../../../src/metrics/metrics.js';
import { seriesValue } from '../../support/metrics.js';

describe('instrumented imaging', () => {
  it('counts jobs by kind and outcome: ok, the error code, or internal', async () => {
    const metrics = new Metrics();
    const busy = fail('busy');
    const imaging = instrumentImaging({
      render: async () => Buffer.from('x'),
      placeholder: async () => { throw busy; },
      processUpload: async () => { throw new Error('worker crashed'); },
    } as Imaging, metrics);

    expect(await imaging.render(new Uint8Array(1), 64, 'jpeg')).toEqual(Buffer.from('x'));
    await expect(imaging.placeholder('mp', '', 64, 'png')).rejects.toBe(busy);
    await expect(imaging.processUpload(new Uint8Array(1))).rejects.toThrow('worker crashed');

    const jobs = (job: string, outcome: string) => seriesValue(metrics, 'onepic_imaging_jobs_total', { job, outcome });
    expect(await jobs('render', 'ok')).toBe(1);
    expect(await jobs('placeholder', 'busy')).toBe(1);
    expect(await jobs('upload', 'internal')).toBe(1);
  });
});
