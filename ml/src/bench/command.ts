/**
 * What every bench command of the project (`npm run bench:*`, in every package) shares: how it reads
 * its options and how it ends. A run takes seconds to hours and its user reads its last lines: an
 * error in what the user gave it (an option, a value, a file to read or write) is a BenchUserError,
 * reported as `bench:NAME: message` with exit code 2 and no stack, since nothing in the code is to
 * fix; anything else is a bug, reported as `bench:NAME failed:` with its stack and exit code 1. A
 * command's own result (0, or 1 when a run it measured failed) is its exit code.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class BenchUserError extends Error {
  override readonly name: string = 'BenchUserError';
}

/** `--help` asked of a command that reads its options with `benchOptions`: its options, listed. */
class BenchHelp extends Error {
  override readonly name = 'BenchHelp';
}

/** Runs a bench command's `main` and ends the process with its exit code (see the module's comment).
 * The process exits even where a child process or timer of a finished run still holds it open. */
export function runBenchCommand(command: string, main: () => number | Promise<number>): void {
  const fail = (e: unknown): never => {
    if (e instanceof BenchHelp) {
      process.stdout.write(`bench:${command} options:\n${e.message}\n`);
      process.exit(0);
    }
    if (e instanceof BenchUserError) {
      process.stderr.write(`bench:${command}: ${e.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`bench:${command} failed: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  };
  // The promise's executor turns a synchronous throw (a bad option, before any await) into a rejection.
  new Promise<number>((resolve) => resolve(main())).then((code) => process.exit(code), fail);
}

type OptionsSpec = NonNullable<ParseArgsConfig['options']>;
/** The values `benchOptions` reads for `T`: a string or boolean per option, by its type. */
type OptionValues<T extends OptionsSpec> = ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: false }>>['values'];

/** A command's options (`--name value`, `--name=value`, `--flag`), read strictly: an option it
 * does not know, a missing value, a value given to a flag or a stray argument is a BenchUserError
 * naming it, so that a typo never runs the defaults unnoticed. `--help` (or `-h`) ends the command
 * under runBenchCommand with its options and their defaults listed, exit 0. */
export function benchOptions<T extends OptionsSpec>(argv: readonly string[], options: T): OptionValues<T> {
  if (argv.includes('--help') || argv.includes('-h')) {
    const listing = Object.entries(options).map(([name, o]) => `  --${name}${o.type === 'string' ? ' VALUE' : ''}${typeof o.default === 'string' ? ` (default ${o.default})` : ''}`);
    throw new BenchHelp(listing.join('\n') || '  none');
  }
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    const code = String((e as { code?: unknown }).code);
    if (!code.startsWith('ERR_PARSE_ARGS')) throw e;
    const known = code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? ` (known: ${Object.keys(options).map((o) => `--${o}`).join(', ') || 'none'})` : '';
    throw new BenchUserError(`${(e as Error).message}${known}`);
  }
}

/** An option of `benchOptions` that takes a value, `fallback` when the command line has none. */
export function valueOption(fallback: string | number) {
  return { type: 'string', default: String(fallback) } as const;
}

/** `raw` given to `flag` as a positive number (an integer where `integer`). */
export function positiveNumber(flag: string, raw: string, integer = false): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new BenchUserError(`${flag} must be a positive ${integer ? 'integer' : 'number'}, got '${raw}'`);
  }
  return n;
}

/** `raw` given to `flag` as a number from `min` up to `max` (`max` itself excluded where
 * `maxExcluded`; no upper bound where `max` is Infinity). An empty value is refused, not read as 0. */
export function numberInRange(flag: string, raw: string, min: number, max = Infinity, maxExcluded = false): number {
  const n = Number(raw);
  const inRange = n >= min && (maxExcluded ? n < max : n <= max) && Number.isFinite(n);
  if (raw.trim() === '' || !inRange) {
    const range = max === Infinity ? `>= ${min}` : `in [${min}, ${max}${maxExcluded ? ')' : ']'}`;
    throw new BenchUserError(`${flag} must be a number ${range}, got '${raw}'`);
  }
  return n;
}

/** `raw` given to `flag` as positive integers separated by commas. */
export function positiveIntegers(flag: string, raw: string): number[] {
  const xs = raw.split(',').map(Number);
  if (!raw.trim() || !xs.every((x) => Number.isInteger(x) && x > 0)) throw new BenchUserError(`${flag} must be positive integers separated by commas, got '${raw}'`);
  return xs;
}

/** `raw` given to `flag`, one of `allowed`. */
export function oneOf<T extends string>(flag: string, raw: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(raw)) throw new BenchUserError(`${flag} must be one of ${allowed.join(', ')}, got '${raw}'`);
  return raw as T;
}
