/** bench:scale's robust section on a small size: its aggregates come out as they must (the same
 * spot checks the 100 x 200 MiB run makes), with a scratch smaller than the model. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tempFolder } from '../../harness/temp-folder';
import { benchRobust } from './models';

test('bench:scale robust: the median and trimmed mean of 9 updates, by slices in a quarter of the model, pass their spot checks', async (t) => {
  const figures = await benchRobust({ sites: 9, megabytes: 1, workDir: tempFolder(t, 'bench-scale-robust-'), budgetBytes: 256 * 1024 });
  assert.equal(figures.ok, true, JSON.stringify(figures));
  assert.ok((figures.scratchBytes as number) <= 256 * 1024, `scratch ${figures.scratchBytes} bytes`);
  for (const key of ['medianCheckedValues', 'trimmedMeanCheckedValues']) assert.ok((figures[key] as number) > 0, `${key}: ${figures[key]}`);
});
