/**
 * Text that comes from outside (gRPC fields, REST bodies, path parameters and queries, settings
 * files, safetensors headers, CSRs) is checked here before any use: PostgreSQL refuses a NUL
 * character and an unpaired UTF-16 surrogate (the caller would see a 500 / INTERNAL), and a string
 * without a length bound is a way to fill the database or the log. Lengths count code points, and
 * truncation never cuts a surrogate pair in half.
 */

/** What is wrong with `value` as text of at most `max` code points, or null when nothing is. */
export function textProblem(value: string, max: number): string | null {
  // Every code point takes one or two UTF-16 units: past 2 * max units it is too long for sure.
  if (value.length > 2 * max) return `is longer than ${max} characters (${value.length} UTF-16 units)`;
  let points = 0;
  for (let i = 0; i < value.length; i++, points++) {
    const c = value.charCodeAt(i);
    if (c === 0) return `contains a NUL character (U+0000) at position ${points}`;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return `contains an unpaired surrogate (U+${c.toString(16).toUpperCase()}) at position ${points}`;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return `contains an unpaired surrogate (U+${c.toString(16).toUpperCase()}) at position ${points}`;
  }
  if (points > max) return `is ${points} characters long (at most ${max})`;
  return null;
}

/** The first `n` code points of `s` (a surrogate pair is kept whole or dropped whole). */
export function truncateCodePoints(s: string, n: number): string {
  if (s.length <= n) return s;
  let units = 0;
  for (let points = 0; points < n && units < s.length; points++) {
    const c = s.charCodeAt(units);
    const next = s.charCodeAt(units + 1);
    units += c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff ? 2 : 1;
  }
  return s.slice(0, units);
}

/** How many characters of a caller's value an error message quotes. */
export const QUOTE_CHARS = 32;

/**
 * A caller's value as an error message may show it: a short prefix, JSON-escaped (control
 * characters and unpaired surrogates become \u escapes), with the full length when it was cut.
 */
export function quote(value: unknown, max = QUOTE_CHARS): string {
  const s = typeof value === 'string' ? value : String(value);
  const head = truncateCodePoints(s.slice(0, 2 * max + 1), max);
  return head.length < s.length ? `${JSON.stringify(head)}… (${s.length} UTF-16 units)` : JSON.stringify(head);
}

/** Limits of a walk over a decoded message or request body. */
export interface ShapeLimits {
  /** Longest string (code points), by the path of its field (e.g. `csrPem`, `capabilities.agentVersion`). */
  maxString: (path: string) => number;
  /** Most entries of one array or object (map). */
  maxEntries: number;
  /** Deepest nesting of arrays and objects. */
  maxDepth: number;
  /** Longest object key (code points). */
  maxKey: number;
}

/**
 * The first problem with the text and shape of `value` (strings, object keys, entry counts,
 * nesting), as `path problem`, or null. Iterative, so a hostile depth cannot overflow the stack.
 * Byte arrays and lists of numbers are not text and are skipped.
 */
export function findShapeProblem(value: unknown, limits: ShapeLimits, root = ''): string | null {
  const stack: Array<[unknown, string, number]> = [[value, root, 0]];
  const name = (path: string) => path || 'the value';
  while (stack.length) {
    const [v, path, depth] = stack.pop()!;
    if (typeof v === 'string') {
      const problem = textProblem(v, limits.maxString(path.replace(/\[\d+\]/g, '[]')));
      if (problem) return `${name(path)} ${problem}`;
      continue;
    }
    if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v)) continue;
    if (depth >= limits.maxDepth) return `${name(path)} is nested more than ${limits.maxDepth} levels deep`;
    if (Array.isArray(v)) {
      // A list of plain numbers holds no text, and the message or body size bounds it already
      // (a repeated numeric protobuf field may legitimately be long).
      if (v.every((x) => typeof x === 'number' || typeof x === 'boolean')) continue;
      if (v.length > limits.maxEntries) return `${name(path)} has ${v.length} entries (at most ${limits.maxEntries})`;
      v.forEach((item, i) => stack.push([item, `${path}[${i}]`, depth + 1]));
      continue;
    }
    const entries = Object.entries(v);
    if (entries.length > limits.maxEntries) return `${name(path)} has ${entries.length} entries (at most ${limits.maxEntries})`;
    for (const [key, child] of entries) {
      const keyProblem = textProblem(key, limits.maxKey);
      if (keyProblem) return `a key of ${name(path)} (${quote(key)}) ${keyProblem}`;
      stack.push([child, path ? `${path}.${key}` : key, depth + 1]);
    }
  }
  return null;
}
