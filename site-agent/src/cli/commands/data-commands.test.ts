import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { register as registerGenerate, type GenerateSyntheticContext } from './generate-synthetic.command';
import { register as registerData, type DataInspectContext } from './data.command';

function program(): Command {
  const p = new Command('site-agent').exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  return p;
}

test('generate-synthetic parses flags into a typed context', async () => {
  const seen: GenerateSyntheticContext[] = [];
  const p = program();
  registerGenerate(p, async (ctx) => {
    seen.push(ctx);
  });
  p.commands.forEach((c) => c.exitOverride());
  await p.parseAsync(['node', 'x', 'generate-synthetic', '--out', '/tmp/o', '--surgeries', '9', '--seed', '3', '--size', '96x54', '--images-per-surgery', '2'], { from: 'node' });
  assert.deepEqual(seen[0], { out: '/tmp/o', surgeries: 9, seed: 3, size: { width: 96, height: 54 }, imagesPerSurgery: 2, multilabelFraction: 0.5, structureFolders: 'every-folder', json: false });
  await p.parseAsync(['node', 'x', 'generate-synthetic', '--out', 'o', '--surgery-ids', '01,04,07'], { from: 'node' });
  assert.deepEqual(seen[1]!.surgeryIds, ['01', '04', '07']);
  assert.equal(seen[1]!.surgeries, 3);
  // --absent repeats and merges per surgery.
  await p.parseAsync(['node', 'x', 'generate-synthetic', '--out', 'o', '--surgery-ids', '01,04,07', '--absent', '04,07:liver,colon', '--absent', '07:ureter'], { from: 'node' });
  assert.deepEqual(seen[2]!.absent, { '04': ['liver', 'colon'], '07': ['liver', 'colon', 'ureter'] });
  // --unannotated takes the same form, apart from --absent.
  await p.parseAsync(['node', 'x', 'generate-synthetic', '--out', 'o', '--surgery-ids', '01,04', '--unannotated', '01:ureter', '--absent', '04:liver'], { from: 'node' });
  assert.deepEqual([seen[3]!.unannotated, seen[3]!.absent], [{ '01': ['ureter'] }, { '04': ['liver'] }]);
  // Each bad flag is refused with a message naming the flag and the value; the action never runs.
  const cases: [string[], RegExp][] = [
    [['--size', '12'], /'--size <WxH>' argument '12' is invalid\. size '12' is not WIDTHxHEIGHT/],
    [['--surgeries', '0'], /'--surgeries <n>' argument '0' is invalid\. --surgeries must be in 1\.\.999, got 0/],
    [['--seed', 'x'], /'--seed <n>' argument 'x' is invalid\. --seed must be an integer/],
    [['--multilabel-fraction', '2'], /'--multilabel-fraction <f>' argument '2' is invalid\. must be a number in 0\.\.1/],
    [['--absent', 'liver'], /'--absent <surgeries:structures>' argument 'liver' is invalid\. expected SURGERIES:STRUCTURES like 04,05:liver,colon/],
    [['--absent', '04:liver,gall_bladder'], /unknown structure 'gall_bladder' in '04:liver,gall_bladder' \(known: abdominal_wall, /],
    [['--unannotated', 'ureter'], /'--unannotated <surgeries:structures>' argument 'ureter' is invalid\. expected SURGERIES:STRUCTURES/],
    [['--structure-folders', 'some'], /'--structure-folders <mode>' argument 'some' is invalid\. Allowed choices are every-folder, one-folder/],
  ];
  let actionRuns = 0;
  const refusing = () => {
    const q = program();
    registerGenerate(q, async () => {
      actionRuns++;
    });
    q.commands.forEach((c) => c.exitOverride().configureOutput({ writeErr: () => undefined }));
    return q;
  };
  for (const [bad, message] of cases) {
    await assert.rejects(refusing().parseAsync(['node', 'x', 'generate-synthetic', '--out', 'o', ...bad], { from: 'node' }), message);
  }
  const q = refusing();
  await assert.rejects(q.parseAsync(['node', 'x', 'generate-synthetic'], { from: 'node' }), /required option '--out <dir>'/);
  assert.equal(actionRuns, 0, 'the action never ran on bad input');
});

test('data inspect parses flags and sets the exit code when nothing is usable', async () => {
  const seen: DataInspectContext[] = [];
  const p = program();
  registerData(p, async (ctx) => {
    seen.push(ctx);
    return ctx.root !== 'empty';
  });
  await p.parseAsync(['node', 'x', 'data', 'inspect', '--root', 'r', '--json'], { from: 'node' });
  assert.deepEqual(seen[0], { root: 'r', json: true, format: 'auto', verify: true });
  await p.parseAsync(['node', 'x', 'data', 'inspect', '--root', 'r', '--format', 'folder', '--manifest', 'm.json', '--quick'], { from: 'node' });
  assert.deepEqual(seen[1], { root: 'r', json: false, format: 'folder', verify: false, manifest: 'm.json' });
  const before = process.exitCode;
  await p.parseAsync(['node', 'x', 'data', 'inspect', '--root', 'empty'], { from: 'node' });
  assert.equal(process.exitCode, 1);
  process.exitCode = before;
});
