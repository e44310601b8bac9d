/**
 * Key agreement for secure aggregation: X25519 key pairs and HKDF-SHA256 over the shared secret
 * (node's crypto only). Keys travel as 32 raw bytes.
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, type KeyObject } from 'node:crypto';

export interface KeyPair {
  readonly publicKey: Uint8Array;
  /** 32 raw bytes; Shamir-shared for dropout recovery (the mask key) or kept (the encryption key). */
  readonly privateKey: Uint8Array;
}

const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');

export function generateKeyPair(): KeyPair {
  const { privateKey } = generateKeyPairSync('x25519');
  const jwk = privateKey.export({ format: 'jwk' });
  return { publicKey: Buffer.from(jwk.x!, 'base64url'), privateKey: Buffer.from(jwk.d!, 'base64url') };
}

/** PKCS#8 DER of an X25519 private key: a fixed 16-byte prefix (RFC 8410) and the 32 raw bytes. */
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');

function privateKeyObject(privateKey: Uint8Array): KeyObject {
  if (privateKey.length !== 32) throw new SecAggError(`an X25519 private key has 32 bytes, not ${privateKey.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_X25519, privateKey]), format: 'der', type: 'pkcs8' });
}

/** The public key of a raw private key (to check a key recovered from shares against the advertised one). */
export function publicKeyOf(privateKey: Uint8Array): Uint8Array {
  return Buffer.from(createPublicKey(privateKeyObject(privateKey)).export({ format: 'jwk' }).x!, 'base64url');
}

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  if (publicKey.length !== 32) throw new SecAggError(`an X25519 public key has 32 bytes, not ${publicKey.length}`);
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64u(publicKey) }, format: 'jwk' });
}

export class SecAggError extends Error {
  override readonly name = 'SecAggError';
}

/**
 * A 32-byte key both parties derive: HKDF-SHA256(ECDH(mine, theirs), salt = round id, info = purpose).
 */
export function agree(mine: KeyPair, theirPublic: Uint8Array, roundId: string, purpose: string): Buffer {
  const shared = diffieHellman({ privateKey: privateKeyObject(mine.privateKey), publicKey: publicKeyObject(theirPublic) });
  return Buffer.from(hkdfSync('sha256', shared, Buffer.from(roundId, 'utf8'), Buffer.from(`fedciss secagg v1 ${purpose}`, 'utf8'), 32));
}
