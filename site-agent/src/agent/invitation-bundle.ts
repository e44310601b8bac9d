/**
 * The invitation bundle a coordinator's operator hands a hospital (`coordinator sites invite`):
 * the federation's CA certificate and its fingerprint, the two endpoints, and a one-time enrolment
 * token that expires. Read and checked here before anything is sent.
 */
import { existsSync, readFileSync } from 'node:fs';

export interface InvitationBundle {
  siteName: string;
  invitationId: string;
  token: string;
  expiresAt: Date;
  federationAddress: string;
  enrollAddress: string;
  caCertificatePem: string;
  caFingerprint256: string;
}

export class InvitationBundleError extends Error {
  override readonly name = 'InvitationBundleError';
}

const HOST_PORT = /^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9A-Fa-f:]+\]:\d{1,5}$/;

export function readInvitationBundle(file: string, now = new Date()): InvitationBundle {
  if (!existsSync(file)) throw new InvitationBundleError(`invitation bundle ${file} does not exist`);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new InvitationBundleError(`invitation bundle ${file} is not JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || raw.format !== 'fedciss-invitation/1') {
    throw new InvitationBundleError(`${file} is not a fedciss invitation bundle (format must be "fedciss-invitation/1")`);
  }
  const text = (key: string, pattern?: RegExp): string => {
    const v = raw[key];
    if (typeof v !== 'string' || !v || (pattern && !pattern.test(v))) throw new InvitationBundleError(`${file}: field "${key}" is missing or malformed`);
    return v;
  };
  const expiresAt = new Date(text('expiresAt'));
  if (Number.isNaN(expiresAt.getTime())) throw new InvitationBundleError(`${file}: field "expiresAt" is not a date`);
  if (expiresAt <= now) throw new InvitationBundleError(`the invitation in ${file} expired at ${expiresAt.toISOString()}: ask the coordinator's operator for a new one`);
  return {
    siteName: text('siteName'),
    invitationId: text('invitationId'),
    token: text('token', /^fedinv1\.[A-Za-z0-9._-]+$/),
    expiresAt,
    federationAddress: text('federationAddress', HOST_PORT),
    enrollAddress: text('enrollAddress', HOST_PORT),
    caCertificatePem: text('caCertificatePem', /-----BEGIN CERTIFICATE-----/),
    caFingerprint256: text('caFingerprint256', /^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$/),
  };
}
