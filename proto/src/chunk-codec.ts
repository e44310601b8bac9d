/**
 * Hand-written (de)serializers of the two streamed transfer messages, UploadMessage and BlobChunk,
 * when they carry a chunk (field 2). The wire bytes are exactly the generated encoder's (same
 * fields, same order), so peers using the generated code and peers using this one interoperate;
 * what changes is the copies: the generated encoder copies a chunk's data three times
 * (BinaryWriter.raw, finish(), Buffer.from) into freshly allocated, zero-filled buffers, and the
 * generated decoder copies it once more out of the buffer grpc-js received (Buffer.from). Here the
 * encoder copies the data once, into a buffer of the exact size, and the decoder returns the data
 * as a view of the received buffer.
 *
 * The decoder takes only the canonical form (field 2 once, holding Chunk fields 1..4 at most once
 * each, ASCII strings, an offset within a safe integer); anything else (a header, unknown or
 * repeated fields, other wire types, non-ASCII text, a huge or negative offset) goes to the
 * generated decoder, so every message decodes to what the generated code makes of it, errors
 * included.
 */
import { makeGenericClientConstructor, type ChannelCredentials, type ClientOptions } from '@grpc/grpc-js';
import { BlobChunk, FederationService, UploadMessage, type Chunk, type FederationClient } from './generated/v1/federation';
import { handOver } from './hash-thread';

/** Tags (field number << 3 | wire type): LEN for field 2 and Chunk's bytes and strings, VARINT for its offset. */
const TAG = { body: 0x12, offset: 0x08, data: 0x12, sha256: 0x1a, prefixSha256: 0x22 } as const;

function varintLength(n: number): number {
  let length = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    length++;
  }
  return length;
}

function writeVarint(out: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  out[at++] = n;
  return at;
}

/** Bytes of one LEN field (tag, length, payload). */
const lenField = (payload: number) => 1 + varintLength(payload) + payload;

/** The message `{ chunk }` (UploadMessage and BlobChunk share the layout): one copy of the data. */
function encodeChunkBody(chunk: Chunk): Buffer {
  const sha = Buffer.byteLength(chunk.sha256, 'utf8');
  const prefixSha = Buffer.byteLength(chunk.prefixSha256, 'utf8');
  const inner =
    (chunk.offset !== 0 ? 1 + varintLength(chunk.offset) : 0) +
    (chunk.data.length !== 0 ? lenField(chunk.data.length) : 0) +
    (sha !== 0 ? lenField(sha) : 0) +
    (prefixSha !== 0 ? lenField(prefixSha) : 0);
  const out = Buffer.allocUnsafe(lenField(inner));
  out[0] = TAG.body;
  let at = writeVarint(out, 1, inner);
  if (chunk.offset !== 0) {
    out[at++] = TAG.offset;
    at = writeVarint(out, at, chunk.offset);
  }
  if (chunk.data.length !== 0) {
    out[at++] = TAG.data;
    at = writeVarint(out, at, chunk.data.length);
    out.set(chunk.data, at);
    at += chunk.data.length;
  }
  for (const [tag, text, bytes] of [[TAG.sha256, chunk.sha256, sha], [TAG.prefixSha256, chunk.prefixSha256, prefixSha]] as const) {
    if (bytes === 0) continue;
    out[at++] = tag;
    at = writeVarint(out, at, bytes);
    at += out.write(text, at, 'utf8');
  }
  return out;
}

/** The generated encoder's output for `{ chunk }` messages it handles the same way (a safe, non-negative offset). */
function encodesByHand(message: { header?: unknown; chunk?: Chunk }): message is { chunk: Chunk } {
  return message.header === undefined && message.chunk !== undefined && Number.isSafeInteger(message.chunk.offset) && message.chunk.offset >= 0;
}

/** A varint at `at` with its end, or undefined past 7 bytes (2^49: beyond any blob; the generated decoder judges those). */
function readVarint(bytes: Buffer, at: number, end: number): { value: number; next: number } | undefined {
  let value = 0;
  for (let i = 0, scale = 1; i < 7 && at < end; i++, scale *= 0x80) {
    const b = bytes[at++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) return { value, next: at };
  }
  return undefined;
}

function isAscii(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) return false;
  return true;
}

/** Decodes the canonical `{ chunk }` form with the chunk's data as a view of `bytes`, else undefined. */
function decodeChunkBody(bytes: Buffer): Chunk | undefined {
  if (bytes[0] !== TAG.body) return undefined;
  const body = readVarint(bytes, 1, bytes.length);
  if (!body || body.next + body.value !== bytes.length) return undefined;
  const chunk: Chunk = { offset: 0, data: Buffer.alloc(0), sha256: '', prefixSha256: '' };
  const seen = new Set<number>();
  for (let at = body.next; at < bytes.length; ) {
    const tag = bytes[at++]!;
    if (seen.has(tag)) return undefined;
    seen.add(tag);
    const v = readVarint(bytes, at, bytes.length);
    if (!v) return undefined;
    if (tag === TAG.offset) {
      chunk.offset = v.value;
      at = v.next;
      continue;
    }
    if (tag !== TAG.data && tag !== TAG.sha256 && tag !== TAG.prefixSha256) return undefined;
    if (v.next + v.value > bytes.length) return undefined;
    const payload = bytes.subarray(v.next, v.next + v.value);
    at = v.next + v.value;
    if (tag === TAG.data) chunk.data = payload;
    else if (!isAscii(payload)) return undefined;
    else if (tag === TAG.sha256) chunk.sha256 = payload.toString('latin1');
    else chunk.prefixSha256 = payload.toString('latin1');
  }
  return chunk;
}

export function encodeUploadMessage(message: UploadMessage): Buffer {
  return encodesByHand(message) ? encodeChunkBody(message.chunk) : Buffer.from(UploadMessage.encode(message).finish());
}

export function decodeUploadMessage(bytes: Buffer): UploadMessage {
  const chunk = decodeChunkBody(bytes);
  return chunk ? { header: undefined, chunk } : UploadMessage.decode(bytes);
}

export function encodeBlobChunk(message: BlobChunk): Buffer {
  return encodesByHand(message) ? encodeChunkBody(message.chunk) : Buffer.from(BlobChunk.encode(message).finish());
}

export function decodeBlobChunk(bytes: Buffer): BlobChunk {
  const chunk = decodeChunkBody(bytes);
  return chunk ? { header: undefined, chunk } : BlobChunk.decode(bytes);
}

/**
 * grpc-js decodes each received message from a buffer of its own and keeps none of it: the chunk's
 * bytes may move to the hashing thread while they are checked (handOver).
 */
function received<T extends { chunk?: Chunk }>(message: T): T {
  if (message.chunk) handOver(message.chunk.data);
  return message;
}

/**
 * The generated service definition with the chunk codec on its two streamed transfer calls (serve
 * it with grpc.Server.addService; every other method is the generated one).
 */
export const ChunkCodecFederationService: typeof FederationService = {
  ...FederationService,
  downloadModel: { ...FederationService.downloadModel, responseSerialize: encodeBlobChunk, responseDeserialize: (bytes: Buffer) => received(decodeBlobChunk(bytes)) },
  uploadUpdate: { ...FederationService.uploadUpdate, requestSerialize: encodeUploadMessage, requestDeserialize: (bytes: Buffer) => received(decodeUploadMessage(bytes)) },
};

/** The generated client's interface, built on ChunkCodecFederationService. */
export const ChunkCodecFederationClient = makeGenericClientConstructor(ChunkCodecFederationService, 'fedciss.v1.Federation') as unknown as {
  new (address: string, credentials: ChannelCredentials, options?: Partial<ClientOptions>): FederationClient;
};
