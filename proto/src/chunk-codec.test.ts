// The hand-written chunk codec against the generated one (the reference): the same bytes out, the
// same messages (or the same refusal) in, for well-formed and for mangled input; and the decoder's
// data a view of the received bytes, not a copy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { BlobChunk, UploadMessage, type Chunk } from './generated/v1/federation';
import { decodeBlobChunk, decodeUploadMessage, encodeBlobChunk, encodeUploadMessage } from './chunk-codec';
import { MAX_CHUNK_BYTES } from './transfer';

const HEX = 'ab'.repeat(32);
const chunks: Chunk[] = [];
for (const size of [0, 1, 127, 128, 16_383, 16_384, MAX_CHUNK_BYTES]) {
  for (const offset of [0, 1, 127, 128, 2 ** 31, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER]) {
    for (const [sha256, prefixSha256] of [['', HEX], [HEX, ''], ['', ''], ['é', 'x\u0000y']]) {
      if (size === MAX_CHUNK_BYTES && offset > 1) continue; // a few 4 MiB cases are enough
      chunks.push({ offset, data: randomBytes(size), sha256, prefixSha256 });
    }
  }
}

const codecs = [
  { name: 'UploadMessage', generated: UploadMessage, encode: encodeUploadMessage, decode: decodeUploadMessage },
  { name: 'BlobChunk', generated: BlobChunk, encode: encodeBlobChunk, decode: decodeBlobChunk },
] as const;

for (const c of codecs) {
  test(`${c.name}: the same bytes as the generated encoder, decoded to the same message`, () => {
    for (const chunk of chunks) {
      const reference = Buffer.from(c.generated.encode({ chunk }).finish());
      const ours = c.encode({ chunk });
      assert.ok(ours.equals(reference), `offset ${chunk.offset}, ${chunk.data.length} bytes`);
      assert.deepEqual(c.decode(ours), c.generated.decode(reference));
    }
    // Messages the hand path leaves to the generated code: a negative offset, and the headers.
    const negative = { chunk: { offset: -5, data: Buffer.from('x'), sha256: '', prefixSha256: '' } };
    assert.ok(c.encode(negative).equals(Buffer.from(c.generated.encode(negative).finish())));
    assert.deepEqual(c.decode(c.encode(negative)), { header: undefined, ...negative });
  });

  test(`${c.name}: a decoded chunk's data is a view of the received bytes`, () => {
    const bytes = c.encode({ chunk: { offset: 8, data: randomBytes(1000), sha256: '', prefixSha256: HEX } });
    const decoded = c.decode(bytes).chunk!;
    assert.equal(decoded.data.buffer, bytes.buffer);
    assert.ok(Buffer.isBuffer(decoded.data));
  });

  test(`${c.name}: mangled bytes decode as the generated decoder decodes them, or fail where it fails`, () => {
    let seed = 12345;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const extra = Buffer.from([0x2a, 0x01, 0x7a, 0x08, 0x05, 0x12, 0x00, 0x0a, 0x00, 0x80, 0xff, 0x1a, 0x02, 0xc3, 0xa9]);
    const small = chunks.filter((k) => k.data.length <= 200);
    for (let i = 0; i < 5000; i++) {
      const bytes = Buffer.from(c.encode({ chunk: small[rand(small.length)]! }));
      let mangled: Buffer;
      switch (rand(4)) {
        case 0: // flip one byte
          bytes[rand(bytes.length)] = rand(256);
          mangled = bytes;
          break;
        case 1: // cut short
          mangled = bytes.subarray(0, rand(bytes.length));
          break;
        case 2: // a field or stray bytes inserted
          {
            const at = rand(bytes.length + 1);
            const piece = extra.subarray(rand(extra.length), rand(extra.length) + 1);
            mangled = Buffer.concat([bytes.subarray(0, at), piece, bytes.subarray(at)]);
          }
          break;
        default: // random bytes
          mangled = randomBytes(rand(40));
      }
      let expected: unknown;
      let expectedError: unknown;
      try {
        expected = c.generated.decode(mangled);
      } catch (e) {
        expectedError = e;
      }
      if (expectedError) assert.throws(() => c.decode(mangled), `case ${i}: ${mangled.toString('hex')}`);
      else assert.deepEqual(c.decode(mangled), expected, `case ${i}: ${mangled.toString('hex')}`);
    }
  });
}
