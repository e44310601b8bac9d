import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempFolder } from '../harness/temp-folder';
import { checkOutputFile, OutputFileError, writeOutputFile, writeOutputJson } from './output-file';

test('an output file in a folder that does not exist yet: checked (the folder made, no file), then written', (t) => {
  const dir = tempFolder(t, 'bench-output-');
  const file = join(dir, 'runs', 'today', 'result.json');
  checkOutputFile(file);
  assert.ok(existsSync(join(dir, 'runs', 'today')));
  assert.equal(existsSync(file), false);
  writeOutputJson(file, { all: 41.5 });
  assert.equal(readFileSync(file, 'utf8'), '{\n  "all": 41.5\n}\n');
  checkOutputFile(file); // an existing file is overwritten, as before
  writeOutputFile(join(dir, 'table.md'), '| a |\n');
  assert.equal(readFileSync(join(dir, 'table.md'), 'utf8'), '| a |\n');
});

test('an output file that cannot be written is refused at the check and at the write, naming the file', (t) => {
  const dir = tempFolder(t, 'bench-output-');
  writeFileSync(join(dir, 'a.json'), '{}');
  const underAFile = join(dir, 'a.json', 'c.json'); // its "folder" is a file
  for (const attempt of [() => checkOutputFile(underAFile), () => writeOutputJson(underAFile, {})]) {
    assert.throws(attempt, (e: unknown) => e instanceof OutputFileError && e.message.startsWith(`cannot write ${underAFile}: `));
  }
  mkdirSync(join(dir, 'folder'));
  assert.throws(() => checkOutputFile(join(dir, 'folder')), new OutputFileError(`cannot write ${join(dir, 'folder')}: it is a folder`));
});
