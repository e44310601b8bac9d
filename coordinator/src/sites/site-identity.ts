import { Injectable } from '@nestjs/common';
import * as grpc from '@grpc/grpc-js';
import type { CoordinatorConfig } from '../config/coordinator-config';
import { DomainError } from '../common/errors';
import { createSiteIdResolver, grpcServerCredentials, insecureLoopbackServerCredentials, parseBindAddress, SiteAuthenticationError, type SiteCallLike } from '../pki';
import { SiteCertificates } from './site-certificates';

/**
 * Who is calling. With mutual TLS (the default) the site is the CN of its verified, unrevoked client
 * certificate; sites without a certificate can reach only the enrolment port (server-side TLS),
 * where Enroll is the one call that needs no identity. The plaintext demo mode binds loopback only
 * and takes the id from the `x-site-id` metadata.
 */
@Injectable()
export class SiteIdentity {
  private resolver?: (call: SiteCallLike) => string;

  constructor(private readonly certificates: SiteCertificates) {}

  siteOf(call: SiteCallLike): string {
    if (!this.resolver) throw new DomainError('unavailable', 'the federation endpoint is not bound yet');
    try {
      return this.resolver(call);
    } catch (e) {
      if (e instanceof SiteAuthenticationError) throw new DomainError('unauthenticated', e.message);
      throw e;
    }
  }

  /** Binds the federation port (and, with TLS, the enrolment port); returns the bound ports. */
  async bind(server: grpc.Server, config: CoordinatorConfig): Promise<{ federation: number; enrollment?: number }> {
    const bindAsync = (address: string, creds: grpc.ServerCredentials) =>
      new Promise<number>((resolve, reject) => server.bindAsync(address, creds, (e, port) => (e ? reject(e) : resolve(port))));
    if (config.insecure) {
      const creds = insecureLoopbackServerCredentials(config.grpcAddress);
      this.resolver = createSiteIdResolver({ mode: 'insecure-loopback', bindAddress: config.grpcAddress });
      return { federation: await bindAsync(config.grpcAddress, creds) };
    }
    const ca = this.certificates.authority();
    const { host } = parseBindAddress(config.grpcAddress);
    const serverCert = ca.ensureServerCertificate({ hostnames: [host, ...config.tlsHostnames].filter((h) => h && h !== '0.0.0.0' && h !== '::') });
    this.resolver = createSiteIdResolver({ mode: 'mtls', ca, revocations: ca });
    const federation = await bindAsync(config.grpcAddress, grpcServerCredentials(ca, serverCert));
    const enrollCreds = grpc.ServerCredentials.createSsl(null, [{ private_key: Buffer.from(serverCert.keyPem), cert_chain: Buffer.from(serverCert.certificatePem) }], false);
    const enrollment = await bindAsync(config.enrollAddress, enrollCreds);
    return { federation, enrollment };
  }
}
