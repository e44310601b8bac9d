// JSON columns: what the compiler refuses to write, and what a read of a wrong row says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldsProblem, readJsonColumn, toJsonColumn } from './json-column';

interface Shape {
  readonly name: string;
  readonly counts: readonly number[];
  readonly nested?: { readonly at: number | null };
}

test('a JSON-safe interface is written as it is; a date, a bigint or a function does not compile', () => {
  const value: Shape = { name: 'r0', counts: [1, 2], nested: { at: null } };
  assert.equal(toJsonColumn(value), value);
  // @ts-expect-error a Date does not survive JSON
  toJsonColumn({ at: new Date(0) });
  // @ts-expect-error a bigint is not JSON
  toJsonColumn({ bytes: 10n });
  // @ts-expect-error a function is not data
  toJsonColumn({ f: () => 1 });
});

test('a row that is not what its column holds is an error naming the row and the field', () => {
  const fields = { name: 'string', counts: 'array' } as const;
  assert.deepEqual(readJsonColumn<Shape>({ name: 'r0', counts: [] }, (v) => fieldsProblem(v, fields), 'round r0\'s state'), { name: 'r0', counts: [] });
  assert.throws(() => readJsonColumn<Shape>({ name: 'r0', counts: {} }, (v) => fieldsProblem(v, fields), 'round r0\'s state'), /^Error: round r0's state is not what the column holds: counts should be an array$/);
  assert.throws(() => readJsonColumn<Shape>({}, (v) => fieldsProblem(v, fields), 'step 2\'s config'), /step 2's config .*name should be a string/);
  assert.throws(() => readJsonColumn<Shape>([1], (v) => fieldsProblem(v, fields), 'x'), /expected an object, found an array/);
});
