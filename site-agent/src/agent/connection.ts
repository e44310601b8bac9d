/**
 * How this site reaches the coordinator: mutual TLS with its own certificate (the default), or
 * plaintext on loopback for the demo (the site id then travels as metadata).
 */
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { AgentConfig } from '../config/agent-config';
import { CoordinatorClient } from '../federation/coordinator-client';
import { OutboundAudit } from '../federation/outbound-audit';
import { enrollmentChannelCredentials, grpcChannelCredentials, loadSiteIdentity } from '../identity';

/** In the plaintext demo mode there is no certificate: the id the coordinator assigned is kept here. */
const INSECURE_ID_FILE = 'site-id.txt';

export function outboundAudit(config: AgentConfig): OutboundAudit {
  return new OutboundAudit(join(config.workDir, 'outbound-audit.jsonl'));
}

export function insecureSiteId(config: AgentConfig): string | undefined {
  const file = join(config.identityDir, INSECURE_ID_FILE);
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

export function rememberInsecureSiteId(config: AgentConfig, siteId: string): void {
  mkdirSync(config.identityDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(config.identityDir, INSECURE_ID_FILE), siteId + '\n');
}

function refuseNonLoopback(address: string): void {
  const host = address.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  if (!['127.0.0.1', 'localhost', '::1'].includes(host) && !host.startsWith('127.')) {
    throw new Error(`plaintext (insecure) mode only talks to a coordinator on loopback, not ${address}`);
  }
}

/** A client for the enrolment call (before the site has a certificate). */
export function enrollmentClient(config: AgentConfig, invitationToken?: string): CoordinatorClient {
  if (config.insecure) {
    refuseNonLoopback(config.coordinator);
    return new CoordinatorClient({ address: config.coordinator, credentials: grpc.credentials.createInsecure() }, outboundAudit(config));
  }
  return new CoordinatorClient({ address: config.enrollAddress, credentials: enrollmentChannelCredentials(config.identityDir), invitationToken }, outboundAudit(config));
}

/** The enrolled site's client and id; `interceptors` see every call (e2e fault injection wraps the traffic here). */
export function siteClient(config: AgentConfig, backoff?: ConstructorParameters<typeof CoordinatorClient>[2], interceptors?: grpc.Interceptor[]): { client: CoordinatorClient; siteId: string } {
  if (config.insecure) {
    for (const address of [config.coordinator, ...config.standbyCoordinators]) refuseNonLoopback(address);
    const siteId = insecureSiteId(config);
    if (!siteId) throw new Error(`this site is not enrolled yet (no ${INSECURE_ID_FILE} in ${config.identityDir}): run "site-agent enroll" first`);
    return { siteId, client: new CoordinatorClient({ address: config.coordinator, standbyAddresses: config.standbyCoordinators, credentials: grpc.credentials.createInsecure(), insecureSiteId: siteId, interceptors }, outboundAudit(config), backoff) };
  }
  const identity = loadSiteIdentity(config.identityDir);
  return { siteId: identity.siteId, client: new CoordinatorClient({ address: config.coordinator, standbyAddresses: config.standbyCoordinators, credentials: grpcChannelCredentials(config.identityDir), interceptors }, outboundAudit(config), backoff) };
}
