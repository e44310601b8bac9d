// Certificate signing requests from sites: parsed strictly, RSA of at least MIN_RSA_BITS, and a
// self-signature checked by Node's crypto (OpenSSL) over the exact DER bytes.
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import * as forge from 'node-forge';
import { CsrRejectedError } from './errors';
import { MIN_RSA_BITS, publicKeyFingerprint256 } from './x509';

/** Largest CSR accepted (PEM characters). */
export const MAX_CSR_PEM_LENGTH = 16 * 1024;

// forge's fromDer takes an options object as well as the boolean its typings declare.
declare module 'node-forge' {
  namespace asn1 {
    function fromDer(bytes: Bytes, options: { strict?: boolean; parseAllBytes?: boolean; decodeBitStrings?: boolean }): Asn1;
  }
}

const CSR_SIGNATURE_ALGORITHMS: Record<string, string> = {
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};

/**
 * Parses a CSR and checks it: PEM of bounded size, RSA key of at least 2048 bits, and a valid
 * self-signature (checked with Node's crypto over the exact DER bytes). Returns the public key.
 */
export function checkCsr(csrPem: string): forge.pki.rsa.PublicKey {
  if (typeof csrPem !== 'string' || csrPem.length === 0) throw new CsrRejectedError('CSR must be a non-empty PEM string');
  if (csrPem.length > MAX_CSR_PEM_LENGTH) throw new CsrRejectedError(`CSR is larger than ${MAX_CSR_PEM_LENGTH} characters`);
  let csr: forge.pki.CertificateSigningRequest;
  let der: string;
  try {
    const blocks = forge.pem.decode(csrPem);
    if (blocks.length !== 1 || (blocks[0]!.type !== 'CERTIFICATE REQUEST' && blocks[0]!.type !== 'NEW CERTIFICATE REQUEST')) {
      throw new Error('expected exactly one "CERTIFICATE REQUEST" PEM block');
    }
    der = blocks[0]!.body;
    csr = forge.pki.certificationRequestFromAsn1(forge.asn1.fromDer(der, true)); // strict, all bytes
  } catch (err) {
    throw new CsrRejectedError(`malformed CSR (only RSA keys are supported): ${(err as Error).message}`);
  }
  const publicKey = csr.publicKey as forge.pki.rsa.PublicKey | null;
  if (!publicKey || !publicKey.n) throw new CsrRejectedError('CSR has no RSA public key');
  if (publicKey.n.bitLength() < MIN_RSA_BITS) throw new CsrRejectedError(`CSR key is ${publicKey.n.bitLength()} bits; at least ${MIN_RSA_BITS} required`);
  const hash = csr.signatureOid ? CSR_SIGNATURE_ALGORITHMS[csr.signatureOid] : undefined;
  if (!hash) throw new CsrRejectedError(`unsupported CSR signature algorithm ${csr.signatureOid ?? '(none)'}; use RSA with SHA-256`);
  if (!selfSignatureValid(der, publicKey, hash)) throw new CsrRejectedError('CSR signature is invalid: the request was not signed by the key it contains');
  return publicKey;
}

/** Verifies the CSR's signature with OpenSSL over the original CertificationRequestInfo bytes. */
function selfSignatureValid(der: string, publicKey: forge.pki.rsa.PublicKey, hash: string): boolean {
  try {
    // Keep BIT STRINGs opaque so the signature comes back as raw bytes.
    const top = forge.asn1.fromDer(der, { strict: true, parseAllBytes: true, decodeBitStrings: false });
    const parts = top.value as forge.asn1.Asn1[];
    const infoDer = Buffer.from(forge.asn1.toDer(parts[0]!).getBytes(), 'binary');
    const sigBits = Buffer.from(parts[2]!.value as string, 'binary');
    if (sigBits[0] !== 0) return false; // the signature bit string has unused bits
    return cryptoVerify(hash, infoDer, createPublicKey(forge.pki.publicKeyToPem(publicKey)), sigBits.subarray(1));
  } catch {
    return false;
  }
}

/** What an admin sees about a pending certificate request before approving it. */
export interface CsrSummary {
  /** The CN the site asked for (a hint only: the coordinator chooses the site id). */
  requestedCommonName: string | null;
  keyBits: number;
  /** SHA-256 of the public key (SubjectPublicKeyInfo DER), "AB:CD:...": compare with what the site shows. */
  publicKeyFingerprint256: string;
}

/** Checks a CSR (as signSiteCsr does) and summarises it; throws CsrRejectedError when it is unacceptable. */
export function inspectCsr(csrPem: string): CsrSummary {
  const publicKey = checkCsr(csrPem);
  const csr = forge.pki.certificationRequestFromPem(csrPem);
  const cn = csr.subject.getField('CN') as { value?: unknown } | null;
  const spki = createPublicKey(forge.pki.publicKeyToPem(publicKey)).export({ type: 'spki', format: 'der' });
  return {
    requestedCommonName: typeof cn?.value === 'string' ? cn.value : null,
    keyBits: publicKey.n.bitLength(),
    publicKeyFingerprint256: publicKeyFingerprint256(spki),
  };
}
