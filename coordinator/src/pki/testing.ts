// Test helpers (not exported from the package index): what a site agent does to enrol, and a
// throwaway CA directory. Keys come from Node's crypto (fast), CSRs are built with node-forge.
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as forge from 'node-forge';

export interface TestSiteKey {
  keyPem: string;
  csrPem: string;
}

let sharedKeyPem: string | undefined;

/**
 * An RSA-2048 key and a CSR for it with subject CN=`cn` (the CA ignores that CN). RSA key
 * generation costs ~0.1 s, so the key is shared between calls unless `fresh` is set.
 */
export function makeSiteKeyAndCsr(cn = 'whatever-the-site-asks', options: { fresh?: boolean } = {}): TestSiteKey {
  let keyPem = options.fresh ? undefined : sharedKeyPem;
  if (!keyPem) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    if (!options.fresh) sharedKeyPem = keyPem;
  }
  const privateKey = createPrivateKey(keyPem);
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.publicKeyFromPem(createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString());
  csr.setSubject([{ name: 'commonName', value: cn }]);
  csr.sign(forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return { keyPem, csrPem: forge.pki.certificationRequestToPem(csr) };
}

/** A temporary directory and its removal. */
export function tempDir(prefix = 'fedciss-pki-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
