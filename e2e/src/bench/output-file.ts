/**
 * The files a bench command writes its results to (`--json`, `--markdown`). A run takes minutes to
 * hours: a path it cannot write must stop it before it starts, not lose its figures at the end, so
 * each command checks its output files at start-up (`checkOutputFile`) and writes them with
 * `writeOutputFile`; every failure is an OutputFileError that names the file.
 */
import { accessSync, constants, mkdirSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { BenchUserError } from '@fedciss/ml/bench';

/** A file the user named that the command cannot write: the user's to fix (exit 2, its message). */
export class OutputFileError extends BenchUserError {
  override readonly name = 'OutputFileError';
}

function failure(file: string, e: unknown): OutputFileError {
  return new OutputFileError(`cannot write ${file}: ${(e as Error).message}`);
}

/** Makes `file`'s folder and checks that the file can be written there, without writing it. */
export function checkOutputFile(file: string): void {
  const path = resolve(file);
  let existing: Stats | undefined;
  try {
    mkdirSync(dirname(path), { recursive: true });
    existing = statSync(path, { throwIfNoEntry: false });
    accessSync(existing ? path : dirname(path), constants.W_OK);
  } catch (e) {
    throw failure(file, e);
  }
  if (existing?.isDirectory()) throw new OutputFileError(`cannot write ${file}: it is a folder`);
}

/** Writes `text` to `file`, making its folder. */
export function writeOutputFile(file: string, text: string): void {
  try {
    mkdirSync(dirname(resolve(file)), { recursive: true });
    writeFileSync(file, text);
  } catch (e) {
    throw failure(file, e);
  }
}

/** Writes `value` to `file` as indented JSON with a final newline. */
export function writeOutputJson(file: string, value: unknown): void {
  writeOutputFile(file, JSON.stringify(value, null, 2) + '\n');
}
