/** Why a presented site certificate was not accepted. */
export type CertificateErrorCode =
  | 'INVALID_CERTIFICATE' // not parseable as X.509
  | 'UNKNOWN_ISSUER' // not signed by the federation's CA
  | 'NOT_A_SITE_CERTIFICATE' // a CA certificate, no clientAuth usage, or no valid site id in the CN
  | 'NOT_YET_VALID'
  | 'EXPIRED'
  | 'REVOKED';

/** Base class of every certificate verification failure; `code` says which. */
export class CertificateVerificationError extends Error {
  constructor(
    readonly code: CertificateErrorCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class InvalidCertificateError extends CertificateVerificationError {
  constructor(message: string) {
    super('INVALID_CERTIFICATE', message);
  }
}

export class UnknownIssuerError extends CertificateVerificationError {
  constructor(message = 'certificate was not issued by the federation certificate authority') {
    super('UNKNOWN_ISSUER', message);
  }
}

export class NotASiteCertificateError extends CertificateVerificationError {
  constructor(message: string) {
    super('NOT_A_SITE_CERTIFICATE', message);
  }
}

export class CertificateNotYetValidError extends CertificateVerificationError {
  constructor(readonly notBefore: Date) {
    super('NOT_YET_VALID', `certificate is not valid before ${notBefore.toISOString()}`);
  }
}

export class CertificateExpiredError extends CertificateVerificationError {
  constructor(readonly notAfter: Date) {
    super('EXPIRED', `certificate expired at ${notAfter.toISOString()}`);
  }
}

export class CertificateRevokedError extends CertificateVerificationError {
  constructor(readonly serial: string) {
    super('REVOKED', `certificate ${serial} has been revoked`);
  }
}

/** A certificate signing request that cannot be signed (malformed, forged, weak key, bad site id). */
export class CsrRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CsrRejectedError';
  }
}

/** The CA directory is missing, incomplete, already initialised, or inconsistent. */
export class CertificateAuthorityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CertificateAuthorityError';
  }
}
