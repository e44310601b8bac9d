import { Inject, Injectable } from '@nestjs/common';
import { CONFIG } from '../common/tokens';
import { DomainError, invalid } from '../common/errors';
import type { CoordinatorConfig } from '../config/coordinator-config';
import { CsrRejectedError, inspectCsr, loadCertificateAuthority, type CertificateAuthority } from '../pki';

/**
 * The federation's certificate authority as the sites service uses it: checking enrolment
 * requests, issuing site certificates (CN = site id) and revoking them. Loaded lazily, so the
 * loopback demo mode runs without a CA.
 */
@Injectable()
export class SiteCertificates {
  private ca?: CertificateAuthority;

  constructor(@Inject(CONFIG) private readonly config: CoordinatorConfig) {}

  authority(): CertificateAuthority {
    if (!this.ca) {
      try {
        this.ca = loadCertificateAuthority(this.config.pkiDir);
      } catch (e) {
        throw new DomainError('unavailable', `no certificate authority in ${this.config.pkiDir}: run "coordinator pki init" first (${(e as Error).message})`);
      }
    }
    return this.ca;
  }

  /** SHA-256 of the request's public key (lower-case hex), after checking the request's own signature. */
  csrFingerprint(csrPem: string): string {
    try {
      return inspectCsr(csrPem).publicKeyFingerprint256.replace(/:/g, '').toLowerCase();
    } catch (e) {
      if (e instanceof CsrRejectedError) throw invalid(`csr_pem: ${e.message}`);
      throw e;
    }
  }

  caCertificatePem(): string {
    return this.authority().certificatePem;
  }

  issue(csrPem: string, siteId: string): { serial: string; certificatePem: string; notAfter: Date } {
    const issued = this.authority().signSiteCsr(csrPem, { siteId });
    return { serial: issued.serial, certificatePem: issued.certificatePem, notAfter: issued.notAfter };
  }

  revoke(serial: string, at: Date): void {
    this.authority().revoke(serial, 'revoked by an administrator', at);
  }
}
