/**
 * Shared setup of the security tests: a coordinator started by startCoordinator (plaintext loopback
 * or mutual TLS with a CA made by initCertificateAuthority), an admin signed in to the REST API, TLS
 * credentials for TestSiteClient, a snapshot of every table (to prove a refused call changed
 * nothing), and deterministic random bytes.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { LogLevel } from '@nestjs/common';
import { resolveConfig, DEFAULT_TRAINING, type CoordinatorConfig, type TrainingSettings } from '../config/coordinator-config';
import { startCoordinator, type RunningCoordinator } from '../main';
import { TensorModelFactory } from './tensor-model-factory';
import { TestSiteClient } from './site-client';
import { AdminAuthService } from '../auth/admin-auth.service';
import { DatabaseService } from '../database/database.service';
import { openDatabase } from '../database/database';
import { initCertificateAuthority, type CertificateAuthority } from '../pki';
import { makeSiteKeyAndCsr } from '../pki/testing';
import { until } from './until';
import { restClient, type RestCall } from './rest-client';

export { until };

export const ADMIN_PASSWORD = 'correct horse battery staple';
export const VIEWER_PASSWORD = 'purple monkey dishwasher 42';

export interface Harness {
  config: CoordinatorConfig;
  coordinator: RunningCoordinator;
  ca?: CertificateAuthority;
  /** host:port of the federation port (mTLS, or plaintext loopback). */
  address: string;
  /** host:port of the enrolment port (server-side TLS only); mTLS mode only. */
  enrollAddress?: string;
  adminToken: string;
  api: RestCall;
  signIn(username: string, password: string): Promise<string>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  tls?: boolean;
  autoApprove?: boolean;
  quorum?: number;
  training?: Partial<TrainingSettings>;
  logLevels?: LogLevel[];
  /** With TLS: only invited sites may enrol (the production default); otherwise enrolment is open. */
  invitations?: boolean;
  /** A PostgreSQL database (an empty one: migrations are applied) instead of the embedded PGlite. */
  databaseUrl?: string;
  /** On PostgreSQL: how long the leader lease lasts unrenewed (a starved test process may renew late). */
  leaseSeconds?: number;
}

let template: Promise<string> | undefined;

/**
 * An embedded database with every migration applied, made once per test process: creating one
 * costs ~5 s (PGlite start-up and migrations), copying it ~0.2 s.
 */
function migratedDatabaseTemplate(): Promise<string> {
  template ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coord-sec-db-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const db = await openDatabase({ dataDir: join(dir, 'db') });
    await db.close();
    return join(dir, 'db');
  })();
  return template;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'coord-sec-'));
  const tls = options.tls ?? false;
  const config = resolveConfig({
    env: {},
    flags: {
      dataDir, insecure: !tls, autoApprove: options.autoApprove ?? true, grpcAddress: '127.0.0.1:0', enrollAddress: '127.0.0.1:0', httpPort: '0',
      openEnrollment: !options.invitations, databaseUrl: options.databaseUrl, leaseSeconds: options.leaseSeconds?.toString(),
      quorum: String(options.quorum ?? 2), segmenterRounds: '1', generatorRounds: '0', deadline: '60', tickMs: '100',
    },
  });
  if (!options.databaseUrl) cpSync(await migratedDatabaseTemplate(), join(dataDir, 'db'), { recursive: true });
  if (options.training) config.training = { ...DEFAULT_TRAINING, ...options.training };
  // 2048-bit keys keep the CA quick to make; the production default is 3072.
  const ca = tls ? initCertificateAuthority(config.pkiDir, { commonName: 'security test CA', keyBits: 2048 }) : undefined;
  const coordinator = await startCoordinator(config, new TensorModelFactory(), { logLevels: options.logLevels ?? ['error'] });
  const address = `127.0.0.1:${coordinator.grpcPort}`;
  const api: Harness['api'] = restClient(() => coordinator.httpUrl, () => h.adminToken);
  const signIn = async (username: string, password: string) => {
    const r = await api('POST', '/api/auth/sign-in', { username, password }, '');
    if (r.status !== 200) throw new Error(`sign-in of ${username} failed: ${r.status} ${JSON.stringify(r.body)}`);
    return (r.body as { token: string }).token;
  };
  const h: Harness = {
    config, coordinator, ca, address, adminToken: '', api, signIn,
    enrollAddress: coordinator.enrollPort ? `127.0.0.1:${coordinator.enrollPort}` : undefined,
    close: async () => {
      await coordinator.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  await coordinator.app.get(AdminAuthService).createUser('test', 'admin', ADMIN_PASSWORD, 'admin');
  h.adminToken = await signIn('admin', ADMIN_PASSWORD);
  return h;
}

/** Client credentials of a site that has no certificate yet (server-side TLS, for Enroll). */
export function enrolmentCredentials(caPem: string): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(Buffer.from(caPem));
}

/** Client credentials for mutual TLS: the site's key and certificate, trusting `caPem`. */
export function siteCredentials(caPem: string, keyPem: string, certificatePem: string): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(Buffer.from(caPem), Buffer.from(keyPem), Buffer.from(certificatePem));
}

export interface TlsSite {
  client: TestSiteClient;
  siteId: string;
  keyPem: string;
  csrPem: string;
  certificatePem: string;
}

/**
 * What a site agent does over mutual TLS: enrol on the enrolment port with a CSR (the key stays
 * here), have the admin approve it (`approve`), poll again for the certificate, then connect to the
 * federation port with it.
 */
export async function enrolTlsSite(h: Harness, name: string, approve: (siteId: string) => Promise<void>): Promise<TlsSite> {
  const caPem = h.ca!.certificatePem;
  const { keyPem, csrPem } = makeSiteKeyAndCsr(name, { fresh: true });
  const enrol = new TestSiteClient(h.enrollAddress!, enrolmentCredentials(caPem));
  try {
    const first = await enrol.enroll(name, csrPem);
    if (!first.certificatePem) await approve(first.siteId);
    const second = await enrol.enroll(name, csrPem);
    if (!second.certificatePem) throw new Error(`site ${second.siteId} got no certificate (status ${second.status})`);
    const client = new TestSiteClient(h.address, siteCredentials(caPem, keyPem, second.certificatePem));
    client.siteId = second.siteId;
    return { client, siteId: second.siteId, keyPem, csrPem, certificatePem: second.certificatePem };
  } finally {
    enrol.close();
  }
}

/**
 * Every row of every table, JSON-serialised (BigInt as strings), in a stable order. Columns that
 * legitimately change on any well-formed call (a heartbeat's time and state, a round's
 * last sight of a site) are left out.
 */
export async function snapshot(h: Harness): Promise<Record<string, string>> {
  const p = h.coordinator.app.get(DatabaseService).prisma;
  const tables: Record<string, () => Promise<object[]>> = {
    site: () => p.site.findMany(), certificate: () => p.certificate.findMany(), rosterClass: () => p.rosterClass.findMany(), step: () => p.step.findMany(),
    round: () => p.round.findMany(), modelVersion: () => p.modelVersion.findMany(), siteUpdate: () => p.siteUpdate.findMany(), evaluation: () => p.evaluation.findMany(),
    evaluationClass: () => p.evaluationClass.findMany(), adminUser: () => p.adminUser.findMany(), adminSession: () => p.adminSession.findMany(),
    auditEntry: () => p.auditEntry.findMany(), serverState: () => p.serverState.findMany(),
  };
  const out: Record<string, string> = {};
  for (const [t, findMany] of Object.entries(tables)) {
    const rows = (await findMany()).map((r) => {
      const { lastHeartbeatAt: _a, agentState: _b, ...rest } = r as Record<string, unknown>;
      // A round's record of when it last saw each site is liveness too.
      return JSON.stringify(rest, (k, v) => (k === 'lastSeenAt' ? undefined : typeof v === 'bigint' ? v.toString() : v));
    });
    out[t] = `${rows.length} rows: ${rows.sort().join('\n')}`;
  }
  return out;
}

/** A deterministic byte generator (xorshift32), so a failing fuzz case can be replayed. */
export function randomBytesFrom(seed: number): (n: number) => Buffer {
  let s = seed >>> 0 || 1;
  return (n) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      b[i] = s & 0xff;
    }
    return b;
  };
}


/** Asserts that no table differs from `before`, naming the first table that does. */
export function assertSameSnapshot(after: Record<string, string>, before: Record<string, string>, what = 'database'): void {
  for (const table of Object.keys(before)) {
    if (after[table] !== before[table]) {
      const a = new Set(after[table]!.split('\n'));
      const b = new Set(before[table]!.split('\n'));
      const added = [...a].filter((l) => !b.has(l));
      const removed = [...b].filter((l) => !a.has(l));
      throw new Error(`${what}: table ${table} changed\n+ ${added.join('\n+ ')}\n- ${removed.join('\n- ')}`);
    }
  }
}
