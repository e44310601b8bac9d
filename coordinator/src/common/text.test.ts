import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findShapeProblem, quote, textProblem, truncateCodePoints } from './text';

test('textProblem finds NUL, unpaired surrogates and lengths in code points', () => {
  assert.equal(textProblem('liver', 5), null);
  assert.equal(textProblem('😀😀', 2), null, 'a pair counts once');
  assert.match(textProblem('ab\u0000c', 10)!, /NUL character \(U\+0000\) at position 2/);
  assert.match(textProblem('a\ud83d', 10)!, /unpaired surrogate \(U\+D83D\) at position 1/);
  assert.match(textProblem('\ude00x', 10)!, /unpaired surrogate \(U\+DE00\) at position 0/);
  assert.match(textProblem('a😀b', 2)!, /is 3 characters long \(at most 2\)/);
  assert.match(textProblem('x'.repeat(5), 2)!, /longer than 2 characters/);
});

test('truncateCodePoints never splits a surrogate pair', () => {
  assert.equal(truncateCodePoints('a😀b', 2), 'a😀');
  assert.equal(truncateCodePoints('😀😀', 1), '😀');
  assert.equal(truncateCodePoints('abc', 5), 'abc');
  const cut = truncateCodePoints('x'.repeat(63) + '😀', 64);
  assert.equal(cut.length, 65);
  assert.equal(Buffer.from(cut, 'utf8').toString('utf8'), cut, 'well-formed: survives UTF-8');
});

test('quote shows a short escaped prefix and the full length', () => {
  assert.equal(quote('abc'), '"abc"');
  assert.equal(quote('a\u0000b'), '"a\\u0000b"');
  assert.equal(quote('\ud800'), '"\\ud800"');
  const q = quote('x'.repeat(6000));
  assert.ok(q.length < 60, q);
  assert.match(q, /… \(6000 UTF-16 units\)$/);
});

test('findShapeProblem names the path of the first bad string, key, count or depth', () => {
  const limits = { maxString: (p: string) => (p === 'name' ? 4 : 100), maxEntries: 3, maxDepth: 4, maxKey: 8 };
  assert.equal(findShapeProblem({ name: 'ok', list: ['a', 'b'], data: new Uint8Array(1000) }, limits), null);
  assert.match(findShapeProblem({ name: 'toolong' }, limits)!, /^name is 7 characters long/);
  assert.match(findShapeProblem({ list: ['a', 'b\u0000'] }, limits)!, /^list\[1\] contains a NUL/);
  assert.match(findShapeProblem({ m: { ['k\ud800']: 1 } }, limits)!, /^a key of m \("k\\ud800"\) contains an unpaired surrogate/);
  assert.match(findShapeProblem({ list: ['a', 'b', 'c', 'd'] }, limits)!, /^list has 4 entries \(at most 3\)/);
  assert.equal(findShapeProblem({ values: [1, 2, 3, 4, 5, true] }, limits), null, 'numbers hold no text; the message size bounds them');
  assert.match(findShapeProblem({ mixed: [1, 2, 3, 'x\u0000'] }, limits)!, /^mixed has 4 entries/);
  assert.match(findShapeProblem({ a: { b: { c: { d: { e: 1 } } } } }, limits)!, /^a\.b\.c\.d is nested more than 4 levels deep/);
  let deep: unknown = 'x';
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.match(findShapeProblem(deep, limits)!, /nested more than 4/, 'no stack overflow');
});
