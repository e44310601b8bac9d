/**
 * Joining the federation: the site makes its key pair (the private key never leaves this machine),
 * sends a certificate request, and, once an administrator approved it, stores its certificate.
 */
import { readFileSync } from 'node:fs';
import { EnrollmentStatus } from '@fedciss/proto';
import { executionProvidersOf, type AgentConfig } from '../config/agent-config';
import { initSiteIdentity, siteKeyFingerprint256, storeSiteCertificate, trustCaCertificate } from '../identity';
import { enrollmentClient, rememberInsecureSiteId } from './connection';
import { sleep } from '../federation/retry';
import type { InvitationBundle } from './invitation-bundle';

export interface EnrollOptions {
  /** The federation's CA certificate, obtained from the coordinator's operator (mTLS mode). */
  caCertFile?: string;
  caFingerprint?: string;
  /** The invitation bundle (CA certificate, endpoints and one-time token) instead of caCertFile. */
  bundle?: InvitationBundle;
  /** Keep asking until an administrator decides (default: ask once). */
  wait: boolean;
  pollSeconds: number;
  log: (line: string) => void;
}

export type EnrollOutcome = { siteId: string; status: 'approved' | 'pending' | 'rejected' };

export async function enroll(config: AgentConfig, o: EnrollOptions): Promise<EnrollOutcome> {
  let csrPem = '';
  if (!config.insecure) {
    if (o.caCertFile) trustCaCertificate(config.identityDir, readFileSync(o.caCertFile, 'utf8'), { expectedCaFingerprint256: o.caFingerprint });
    if (o.bundle) {
      // The bundle's own fingerprint, and the one the operator told by another channel when given.
      trustCaCertificate(config.identityDir, o.bundle.caCertificatePem, { expectedCaFingerprint256: o.bundle.caFingerprint256 });
      if (o.caFingerprint) trustCaCertificate(config.identityDir, o.bundle.caCertificatePem, { expectedCaFingerprint256: o.caFingerprint });
    }
    csrPem = initSiteIdentity(config.identityDir).csrPem;
    o.log(`site key fingerprint (tell the coordinator's administrator): ${siteKeyFingerprint256(config.identityDir)}`);
  }
  const client = enrollmentClient(config, o.bundle?.token);
  try {
    for (;;) {
      const r = await client.enroll(config.siteName, csrPem, executionProvidersOf(config));
      if (r.status === EnrollmentStatus.ENROLLMENT_STATUS_APPROVED) {
        if (config.insecure) rememberInsecureSiteId(config, r.siteId);
        else storeSiteCertificate(config.identityDir, r.certificatePem, r.caCertificatePem, { expectedCaFingerprint256: o.caFingerprint });
        o.log(`enrolled as ${r.siteId}`);
        return { siteId: r.siteId, status: 'approved' };
      }
      if (r.status === EnrollmentStatus.ENROLLMENT_STATUS_REJECTED) {
        o.log(`enrolment of ${r.siteId} refused: ${r.message}`);
        return { siteId: r.siteId, status: 'rejected' };
      }
      o.log(`site ${r.siteId}: ${r.message}`);
      if (!o.wait) return { siteId: r.siteId, status: 'pending' };
      await sleep(o.pollSeconds * 1000);
    }
  } finally {
    client.close();
  }
}
