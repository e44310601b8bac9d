// gRPC glue: server credentials that require a client certificate from the federation CA, and the
// function that turns a call into the calling site's id. In mutual-TLS mode the id is ONLY the CN
// of the verified peer certificate (never a message field or metadata); an explicit insecure mode,
// allowed only on loopback for demos and tests, takes it from the `x-site-id` metadata.
import { isIP } from 'node:net';
import type { PeerCertificate } from 'node:tls';

import { Metadata, ServerCredentials, experimental, status } from '@grpc/grpc-js';

import { type CaCertificateSource, type RevocationSource, type VerifiedSite, verifySiteCertificate } from './verification';
import { isValidSiteId } from './x509';
import { CertificateVerificationError } from './errors';

/** Metadata key carrying the site id in insecure (loopback-only) mode. */
export const INSECURE_SITE_ID_METADATA_KEY = 'x-site-id';

/** Thrown by siteIdFromCall; shaped like a grpc-js ServiceError (code UNAUTHENTICATED), so a
 *  handler can pass it straight to its callback / `call.destroy` / `call.emit('error')`. */
export class SiteAuthenticationError extends Error {
  readonly code = status.UNAUTHENTICATED;
  readonly details: string;
  readonly metadata = new Metadata();
  constructor(
    message: string,
    /** The certificate problem, when there was one. */
    override readonly cause?: CertificateVerificationError,
  ) {
    super(message);
    this.name = 'SiteAuthenticationError';
    this.details = message;
  }
}

/** The insecure mode was asked for on an address that is not loopback. */
export class InsecureBindError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InsecureBindError';
  }
}

/** What siteIdFromCall needs from a server call (every grpc-js server call type has it). */
export interface SiteCallLike {
  getAuthContext(): { transportSecurityType?: string; sslPeerCertificate?: PeerCertificate } | null;
  getPeer(): string;
  readonly metadata: Metadata;
}

export interface MtlsIdentityOptions {
  /** The federation CA certificate (a CertificateAuthority works). */
  ca: CaCertificateSource;
  /** Revocations to honour (a CertificateAuthority works: it re-reads its list when it changes). */
  revocations: RevocationSource;
  /** Clock (default: the current time). */
  now?: () => Date;
}

/** The site's key and certificate files content, PEM. */
export interface KeyAndCertificatePem {
  keyPem: string;
  certificatePem: string;
}

/**
 * 'required': the TLS handshake fails without a client certificate issued by the CA (the normal
 * federation port). 'optional': the handshake also accepts clients without a certificate (or with
 * one the CA did not issue) so that a site can call Enroll before it has a certificate on the same
 * port; such calls have no verified peer and siteIdFromCall refuses them (UNAUTHENTICATED), so
 * EVERY handler except Enroll must call siteIdFromCall.
 */
export type ClientCertificatePolicy = 'required' | 'optional';

/** A certificate provider that never changes (grpc-js experimental API, used for 'optional'). */
function staticCertificateProvider(caPem: string, serverCert: KeyAndCertificatePem): experimental.CertificateProvider {
  const ca = { caCertificate: Buffer.from(caPem) };
  const identity = { certificate: Buffer.from(serverCert.certificatePem), privateKey: Buffer.from(serverCert.keyPem) };
  return {
    addCaCertificateListener: (listener) => process.nextTick(listener, ca),
    removeCaCertificateListener: () => undefined,
    addIdentityCertificateListener: (listener) => process.nextTick(listener, identity),
    removeIdentityCertificateListener: () => undefined,
  };
}

/**
 * Server credentials for mutual TLS: the coordinator presents `serverCert`, and by default the TLS
 * handshake REQUIRES a client certificate that chains to `ca` (checkClientCertificate = true).
 * Revocation is not checked at the handshake (grpc-js has no CRL option): siteIdFromCall checks
 * it on every call.
 */
export function grpcServerCredentials(
  ca: { readonly certificatePem: string } | string,
  serverCert: KeyAndCertificatePem,
  options: { clientCertificate?: ClientCertificatePolicy } = {},
): ServerCredentials {
  const caPem = typeof ca === 'string' ? ca : ca.certificatePem;
  const policy = options.clientCertificate ?? 'required';
  if (policy === 'optional') {
    const provider = staticCertificateProvider(caPem, serverCert);
    // the same provider serves both roles (grpc-js's argument names for this function are swapped)
    return experimental.createCertificateProviderServerCredentials(provider, provider, false);
  }
  if (policy !== 'required') throw new TypeError(`unknown client certificate policy ${JSON.stringify(policy)}`);
  return ServerCredentials.createSsl(
    Buffer.from(caPem),
    [{ private_key: Buffer.from(serverCert.keyPem), cert_chain: Buffer.from(serverCert.certificatePem) }],
    true,
  );
}

/**
 * The verified identity of the site making a call over mutual TLS: the peer certificate from the
 * call's TLS session is re-verified against the CA (issuer, validity, client usage) and the
 * revocation list. Throws SiteAuthenticationError (gRPC UNAUTHENTICATED) otherwise.
 */
export function siteIdentityFromCall(call: SiteCallLike, options: MtlsIdentityOptions): VerifiedSite {
  const auth = call.getAuthContext();
  const peer = auth?.sslPeerCertificate;
  if (auth?.transportSecurityType !== 'ssl' || !peer?.raw) {
    throw new SiteAuthenticationError('no verified client certificate on this connection (mutual TLS required)');
  }
  try {
    return verifySiteCertificate(peer.raw, options.ca, options.revocations, options.now?.() ?? new Date());
  } catch (err) {
    if (err instanceof CertificateVerificationError) {
      throw new SiteAuthenticationError(`client certificate rejected: ${err.message}`, err);
    }
    throw err;
  }
}

/** The site id (certificate CN) of the site making a call over mutual TLS; see siteIdentityFromCall. */
export function siteIdFromCall(call: SiteCallLike, options: MtlsIdentityOptions): string {
  return siteIdentityFromCall(call, options).siteId;
}

/** True for 'localhost', 127.0.0.0/8, ::1 and IPv4-mapped 127.x (brackets allowed). */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  const mapped = h.startsWith('::ffff:') ? h.slice(7) : h;
  if (isIP(mapped) === 4) return mapped.split('.')[0] === '127';
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1';
  return false;
}

/** Splits "host:port", "[v6]:port" or a bare "host" (grpc-js bind address forms). */
export function parseBindAddress(address: string): { host: string; port: string | null } {
  const a = address.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(a);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] ?? null };
  if (isIP(a) === 6) return { host: a, port: null };
  const m = /^([^:]*)(?::(\d+))?$/.exec(a);
  if (!m) throw new InsecureBindError(`cannot parse bind address ${JSON.stringify(address)}`);
  return { host: m[1]!, port: m[2] ?? null };
}

/** Throws InsecureBindError unless `bindAddress` ("host:port") is on loopback. */
export function assertLoopbackBindAddress(bindAddress: string): void {
  const { host } = parseBindAddress(bindAddress);
  if (!host || !isLoopbackHost(host)) {
    throw new InsecureBindError(
      `refusing to serve without TLS on ${JSON.stringify(bindAddress)}: plaintext gRPC is allowed only on a loopback ` +
        `address (127.0.0.1, ::1, localhost); use mutual TLS (coordinator pki init) for anything else`,
    );
  }
}

/**
 * Plaintext server credentials for demos and tests, ONLY for a loopback bind address: throws
 * InsecureBindError for anything else (0.0.0.0, ::, a LAN address, a hostname).
 */
export function insecureLoopbackServerCredentials(bindAddress: string): ServerCredentials {
  assertLoopbackBindAddress(bindAddress);
  return ServerCredentials.createInsecure();
}

/**
 * Insecure mode: the site id comes from the `x-site-id` metadata. Refuses a call whose peer is not
 * on loopback, and an absent, repeated or malformed id.
 */
export function insecureSiteIdFromCall(call: SiteCallLike): string {
  const peer = call.getPeer();
  // grpc-js reports the peer as `${remoteAddress}:${remotePort}` ("127.0.0.1:5000", "::1:5000")
  const withPort = /^(.*):(\d+)$/.exec(peer);
  const peerHost = withPort ? withPort[1]! : peer;
  if (!isLoopbackHost(peerHost)) throw new SiteAuthenticationError(`insecure mode accepts only loopback peers, not ${peer}`);
  const values = call.metadata.get(INSECURE_SITE_ID_METADATA_KEY);
  if (values.length !== 1 || typeof values[0] !== 'string' || !isValidSiteId(values[0])) {
    throw new SiteAuthenticationError(`insecure mode: exactly one valid '${INSECURE_SITE_ID_METADATA_KEY}' metadata value is required`);
  }
  return values[0];
}

export type SiteIdentityMode = ({ mode: 'mtls' } & MtlsIdentityOptions) | { mode: 'insecure-loopback'; bindAddress: string };

/**
 * One function for the service to call on every request, whatever the mode. Creating the
 * insecure resolver checks the bind address (InsecureBindError for non-loopback).
 */
export function createSiteIdResolver(mode: SiteIdentityMode): (call: SiteCallLike) => string {
  if (mode.mode === 'mtls') return (call) => siteIdFromCall(call, mode);
  if (mode.mode === 'insecure-loopback') {
    assertLoopbackBindAddress(mode.bindAddress);
    return insecureSiteIdFromCall;
  }
  throw new TypeError(`unknown site identity mode ${JSON.stringify((mode as { mode: unknown }).mode)}`);
}
