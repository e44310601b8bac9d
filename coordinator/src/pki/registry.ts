// The registry of every certificate the CA issued (issued.json): serials are never reused.
import { join } from 'node:path';
import { CertificateAuthorityError } from './errors';
import { ISSUED_FILE, readJsonFile, writeJsonFile } from './storage';
import { randomSerial } from './x509';

export type CertificateKind = 'site' | 'server';

/** One entry of the issued-certificate registry. */
export interface IssuedCertificateRecord {
  serial: string;
  kind: CertificateKind;
  /** Site id for site certificates, CN for server certificates. */
  subject: string;
  notBefore: string;
  notAfter: string;
  issuedAt: string;
}

export class IssuedRegistry {
  private readonly path: string;

  constructor(dir: string) {
    this.path = join(dir, ISSUED_FILE);
  }

  /** An empty registry (a new CA). */
  static create(dir: string): void {
    writeJsonFile(join(dir, ISSUED_FILE), { version: 1, issued: [] });
  }

  /** Every certificate issued (site and server), oldest first. */
  all(): IssuedCertificateRecord[] {
    const data = readJsonFile<{ issued?: IssuedCertificateRecord[] }>(this.path, {});
    return Array.isArray(data.issued) ? data.issued : [];
  }

  /** A random serial not issued before. */
  newSerial(): string {
    const used = new Set(this.all().map((r) => r.serial));
    for (;;) {
      const s = randomSerial();
      if (!used.has(s)) return s;
    }
  }

  record(rec: IssuedCertificateRecord): void {
    const all = this.all();
    if (all.some((r) => r.serial === rec.serial)) throw new CertificateAuthorityError(`serial ${rec.serial} already issued`);
    all.push(rec);
    writeJsonFile(this.path, { version: 1, issued: all });
  }
}
