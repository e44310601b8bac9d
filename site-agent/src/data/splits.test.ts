import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IGNORE_LABEL } from '@fedciss/ml';
import { DSAD_SPLIT } from '@fedciss/ml/dsad';
import { assignSurgeriesToSteps, parseSchedule, partitionSurgeries, planIncremental, stepLabels, stepSamples } from './splits';
import { defaultDsadRoster } from './roster';
import { type SampleRef } from './types';

const train = [...DSAD_SPLIT.train];
const roster = defaultDsadRoster();

test('partition over sites: disjoint, complete, balanced, seeded', () => {
  for (const k of [1, 2, 3, 5, 21]) {
    const parts = partitionSurgeries(train, k, 42);
    assert.equal(parts.length, k);
    const all = parts.flat();
    assert.equal(new Set(all).size, all.length, 'no surgery in two sites');
    assert.deepEqual([...all].sort(), [...train].sort());
    const sizes = parts.map((p) => p.length);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
  }
  assert.deepEqual(partitionSurgeries(train, 3, 7), partitionSurgeries(train, 3, 7));
  assert.notDeepEqual(partitionSurgeries(train, 3, 7), partitionSurgeries(train, 3, 8));
  const weighted = partitionSurgeries(train, 3, 1, [2, 1, 1]);
  assert.deepEqual(weighted.map((p) => p.length), [11, 5, 5]);
  assert.throws(() => partitionSurgeries(['01', '02'], 3, 0), /only 2 surgeries/);
});

test('schedules 6-5, 6-1, 11-0 and explicit groups follow roster ids', () => {
  assert.deepEqual(parseSchedule('6-5', roster), [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11]]);
  const s61 = parseSchedule('6-1', roster);
  assert.equal(s61.length, 6);
  assert.deepEqual(s61[5], [11]);
  assert.deepEqual(parseSchedule('11-0', roster), [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]]);
  assert.deepEqual(parseSchedule('liver,colon;ureter', roster), [[5, 2], [10]]);
  assert.deepEqual(parseSchedule([['spleen'], ['stomach', 'pancreas']], roster), [[8], [9, 6]]);
  assert.throws(() => parseSchedule('6-4', roster), /multiple/);
  assert.throws(() => parseSchedule('liver;liver', roster), /two steps/);
  assert.throws(() => parseSchedule('kidney', roster), /not in the roster/);
  // Roster order is by id, not by array position.
  const shuffled = [{ id: 2, name: 'colon' }, { id: 1, name: 'liver' }];
  assert.deepEqual(parseSchedule('1-1', shuffled), [[1], [2]]);
});

test('incremental plan: no patient reused across steps or sites', () => {
  for (const spec of ['6-5', '6-1', '11-0']) {
    const schedule = parseSchedule(spec, roster);
    const plan = planIncremental({ surgeries: train, sites: 3, schedule, seed: 3 });
    assert.equal(plan.length, schedule.length);
    const used = plan.flatMap((p) => p.sites.flat());
    assert.equal(new Set(used).size, used.length, `${spec}: a surgery is used twice`);
    assert.deepEqual([...used].sort(), [...train].sort());
    const sitesOf = new Map<string, number>();
    plan.forEach((p) => p.sites.forEach((l, site) => l.forEach((s) => sitesOf.set(s, site))));
    const bySite = partitionSurgeries(train, 3, 3);
    bySite.forEach((l, site) => l.forEach((s) => assert.equal(sitesOf.get(s), site, 'step assignment stays within the site')));
    if (spec === '6-5') for (const p of plan) for (const l of p.sites) assert.ok(l.length >= 3);
  }
  const steps = assignSurgeriesToSteps(train, 6, 1);
  assert.equal(new Set(steps.flat()).size, 21);
  assert.ok(steps.every((s) => s.length >= 3));
});

test('labels of a step contain only that step\'s classes', () => {
  const label = Uint8Array.from([0, 1, 2, 5, 7, 10, IGNORE_LABEL, 11]);
  const step = [5, 7];
  const out = stepLabels(label, step);
  assert.deepEqual([...out], [0, 0, 0, 5, 7, 0, 0, 0]);
  assert.ok(out.every((v) => v === 0 || step.includes(v)));
  assert.deepEqual([...stepLabels(label, step, 'ignore')], [0, 0, 0, 5, 7, 0, IGNORE_LABEL, 0]);
  const ref = (surgery: string, annotated: number[]): SampleRef => ({
    key: `${surgery}/${annotated.join('-')}`, surgery, annotated, complete: false, image: { path: '', size: 0, mtimeMs: 0 }, duplicates: [], masks: [], sources: [], width: 1, height: 1,
  });
  const samples = [ref('01', [5]), ref('01', [2]), ref('04', [7]), ref('05', [5])];
  assert.deepEqual(stepSamples(samples, ['01', '04'], step).map((s) => s.key), ['01/5', '04/7']);
});
