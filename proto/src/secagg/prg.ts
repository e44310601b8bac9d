/**
 * The seeded PRG that expands a 32-byte seed into a mask: the AES-256-CTR keystream (zero IV) as
 * little-endian 32-bit words. Masks are added modulo 2^32, so Uint32Array arithmetic wraps by itself.
 */
import { createCipheriv } from 'node:crypto';

const BLOCK = 1 << 20;

/** Adds `sign` × PRG(seed) to `into`, word by word, modulo 2^32. */
export function addMask(into: Uint32Array, seed: Uint8Array, sign: 1 | -1): void {
  if (seed.length !== 32) throw new RangeError(`a mask seed has 32 bytes, not ${seed.length}`);
  const cipher = createCipheriv('aes-256-ctr', seed, Buffer.alloc(16));
  const zeros = Buffer.alloc(Math.min(BLOCK, into.length * 4));
  for (let at = 0; at < into.length; ) {
    const n = Math.min(zeros.length / 4, into.length - at);
    const stream = cipher.update(zeros.subarray(0, n * 4));
    const words = new Uint32Array(stream.buffer, stream.byteOffset, n);
    if (sign === 1) for (let i = 0; i < n; i++) into[at + i] += words[i];
    else for (let i = 0; i < n; i++) into[at + i] -= words[i];
    at += n;
  }
}
