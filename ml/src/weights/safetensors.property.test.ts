// Malformed safetensors headers, generated: whatever JSON (or non-JSON) a sender puts in the header,
// decoding either succeeds or throws a SafetensorsError with a short message, never a TypeError or
// RangeError (which the coordinator would answer as INTERNAL) and never an allocation beyond the blob.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from './safetensors';

function blobWithHeader(header: string, dataBytes: number): Buffer {
  const json = Buffer.from(header, 'utf8');
  const out = Buffer.alloc(8 + json.length + dataBytes);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  return out;
}

const nasty = fc.oneof(
  fc.string(),
  fc.constantFrom('\u0000', '\ud800', 'a\udfff', 'F32', '__metadata__', 'x'.repeat(600)),
  fc.integer(),
  fc.constantFrom(-1, 2 ** 53, 1e308, -0, 0.5, Number.MAX_SAFE_INTEGER),
  fc.boolean(),
  fc.constant(null),
);
/** A value that is sometimes right, often subtly wrong: what a buggy or hostile writer produces. */
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small', withCrossShrink: true }, nasty, fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 6 }), tie('v'), { maxKeys: 4 })),
})).v;
const entry = fc.record(
  { dtype: fc.oneof(fc.constant('F32'), value), shape: fc.oneof(fc.array(fc.oneof(fc.nat(8), value), { maxLength: 4 }), value), data_offsets: fc.oneof(fc.tuple(fc.nat(64), fc.nat(64)), fc.array(value, { maxLength: 3 }), value) },
  { requiredKeys: [] },
);
const header = fc.dictionary(
  fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__metadata__', 'w\u0000', '\ud83d', 'n'.repeat(600))),
  fc.oneof(entry, value, fc.dictionary(fc.string({ maxLength: 4 }), value, { maxKeys: 3 })),
  { maxKeys: 5 },
);

function assertClean(blob: Buffer): void {
  try {
    decodeSafetensors(blob);
  } catch (e) {
    assert.ok(e instanceof SafetensorsError, `${(e as Error)?.name}: ${(e as Error)?.message}`);
    assert.ok(e.message.length < 300, `message too long: ${e.message.length}`);
  }
}

test('generated safetensors headers decode or fail with a SafetensorsError', () => {
  fc.assert(fc.property(header, fc.nat(128), (h, dataBytes) => assertClean(blobWithHeader(JSON.stringify(h), dataBytes))), { numRuns: 2000, seed: 19 });
});

test('generated header text (not JSON, deep nesting, lone surrogates) fails cleanly', () => {
  const text = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.nat(20_000).map((n) => '['.repeat(n) + ']'.repeat(n)),
    fc.nat(20_000).map((n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)),
    fc.constantFrom('{"w":{"dtype":"F32","shape":[1],"data_offsets":"01"}}', '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}', '{"w":{"dtype":"F32","shape":[1e300,1e300],"data_offsets":[0,4]}}', '{"\\ud800":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', '{"w":null}', '{"__metadata__":{"k":{"nested":1}}}'),
  );
  fc.assert(fc.property(text, (t) => assertClean(blobWithHeader(t, 16))), { numRuns: 300, seed: 19 });
});

test('the shapes of the old TypeError: data_offsets that are not a pair of integers are named', () => {
  for (const offsets of ['"01"', '[0]', '[0, "4"]', '{"0": 0, "1": 4}', '[0.5, 4.5]', 'null', '[0, 4, 8]']) {
    const blob = blobWithHeader(`{"w":{"dtype":"F32","shape":[1],"data_offsets":${offsets}}}`, 4);
    assert.throws(() => decodeSafetensors(blob), (e: Error) => e instanceof SafetensorsError && /data_offsets .* is not a pair of integers/.test(e.message), offsets);
  }
  const good = encodeSafetensors(new Map([['w', { shape: [1], data: new Float32Array([3]) }]]));
  assert.deepEqual([...decodeSafetensors(good).tensors.get('w')!.data], [3]);
});
