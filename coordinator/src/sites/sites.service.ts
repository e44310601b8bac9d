import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Site } from '../generated/prisma/client';
import { DatabaseService } from '../database/database.service';
import { isUniqueViolation } from '../database/database-errors';
import { AuditService, type Actor } from '../audit/audit.service';
import { CLOCK, CONFIG, type Clock } from '../common/tokens';
import { conflict, DomainError, forbidden, invalid, notFound, tooMany } from '../common/errors';
import { quote, truncateCodePoints } from '../common/text';
import type { CoordinatorConfig } from '../config/coordinator-config';
import { SiteCertificates } from './site-certificates';
import { InvitationsService } from './invitations.service';
import { SerialQueue } from '../common/serial-queue';
import { WriteBatch } from '../common/write-batch';

/** How long requireActive trusts an approval it read. */
const ACTIVE_FOR_MS = 30_000;

export type SiteStatus = 'pending' | 'approved' | 'rejected' | 'revoked';

export interface SiteView {
  id: string;
  displayName: string;
  status: SiteStatus;
  alive: boolean;
  lastHeartbeatAt: string | null;
  agentState: string | null;
  capabilities: unknown;
  createdAt: string;
}

export interface EnrollmentResult {
  siteId: string;
  status: SiteStatus;
  certificatePem: string;
  caCertificatePem: string;
  message: string;
}

const MAX_NAME = 120;
const MAX_PROVIDERS = 8;

/** What a site says about itself when it enrols (bounded; shown to admins). */
export interface EnrollCapabilities {
  executionProviders?: string[];
  agentVersion?: string;
}

/** Enrolment, approval, revocation and liveness of the hospitals in the federation. */
@Injectable()
export class SitesService {
  constructor(
    private readonly db: DatabaseService,
    private readonly audit: AuditService,
    private readonly certificates: SiteCertificates,
    @Inject(CONFIG) private readonly config: CoordinatorConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly invitations: InvitationsService,
  ) {
    this.startedAt = clock.now();
  }

  /** When this process started: a heartbeat older than that may be missing only because it was down. */
  private readonly startedAt: number;
  /** When each site was last read as approved (requireActive). */
  private readonly approvedAt = new Map<string, number>();
  /** Revocations made by this process so far. */
  private revocations = 0;
  /**
   * Heartbeats waiting for the next write: one UPDATE for all of them, one such write at a time
   * (in a queue of its own, not the federation's).
   */
  private readonly heartbeatWrites = new SerialQueue();
  private readonly heartbeats = new WriteBatch<string, { at: number; state: string }>((beats) => this.writeHeartbeats(beats), (run) => this.heartbeatWrites.run(run));

  /**
   * A site asks to join. The site id is derived from the request's public key, so an agent polling
   * with the same key gets the same answer (and its certificate once an admin approved it).
   * With auto-approval (a demo setting) no admin needs to act. Enrolment needs no certificate, so
   * it is bounded: its fields (request-limits.ts and below), the pending requests from one address
   * and in total, and their lifetime. A key that was revoked cannot enrol again, under any name.
   */
  async enroll(displayName: string, csrPem: string, capabilities: EnrollCapabilities, from: { address: string; invitationToken?: string }): Promise<EnrollmentResult> {
    const name = displayName.trim();
    if (!name || name.length > MAX_NAME || /[\u0000-\u001f]/.test(name)) throw invalid(`display_name must be 1..${MAX_NAME} printable characters`);
    if (!this.config.insecure && !csrPem) throw invalid('csr_pem is required: the site must send a certificate signing request');
    const providers = capabilities.executionProviders ?? [];
    if (providers.length > MAX_PROVIDERS) throw invalid(`capabilities.execution_providers has ${providers.length} entries (at most ${MAX_PROVIDERS})`);
    // Without TLS (loopback demo) there is no key to identify the site by, only its name.
    const fingerprint = csrPem ? this.certificates.csrFingerprint(csrPem) : createHash('sha256').update(name).digest('hex');
    const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'site';
    const id = `${slug}-${fingerprint.slice(0, 8)}`;
    let site = await this.db.prisma.site.findUnique({ where: { id } });
    if (!site) {
      // Only invited sites become sites (invitations.service.ts); polling with the same key needs no token.
      const invited = await this.invitations.check(from.invitationToken, from.address);
      if (await this.db.prisma.site.findFirst({ where: { keyFingerprint: fingerprint, status: 'revoked' } })) {
        throw forbidden('this key belongs to a site an administrator revoked; enrol with a new key pair');
      }
      await this.expirePending();
      const [pendingFromAddress, pending] = await Promise.all([
        this.db.prisma.site.count({ where: { status: 'pending', enrolledFrom: from.address } }),
        this.db.prisma.site.count({ where: { status: 'pending' } }),
      ]);
      const limits = this.config.enrollment;
      if (pendingFromAddress >= limits.maxPendingPerAddress) throw tooMany(`${pendingFromAddress} enrolment requests from this address are already waiting for an administrator (at most ${limits.maxPendingPerAddress})`);
      if (pending >= limits.maxPending) throw tooMany(`${pending} enrolment requests are already waiting for an administrator (at most ${limits.maxPending}); try again later`);
      site = await this.db.prisma.$transaction(async (tx) => {
        if (invited) await this.invitations.consume(tx, invited.id, id, name);
        const created = await tx.site.create({
          data: {
            id, displayName: invited?.siteName ?? name, status: 'pending', csrPem: csrPem || null, enrolledFrom: from.address, keyFingerprint: fingerprint,
            capabilities: { executionProviders: providers, agentVersion: capabilities.agentVersion ?? '' },
          },
        });
        await this.audit.record(`site:${id}`, 'site.enroll', id, { displayName: name }, tx);
        return created;
      }).catch((e: unknown) => this.enrolledMeanwhile(id, e));
      if (this.config.autoApprove) {
        await this.approve('system:auto-approve', id);
        site = await this.get(id);
      }
    }
    return this.enrollmentView(site);
  }

  /**
   * The same key enrolling twice at once (an agent that retried a call the coordinator was slow to
   * answer): the second finds the site id or the invitation taken by the first. Both get the site.
   */
  private async enrolledMeanwhile(id: string, e: unknown): Promise<Site> {
    const raced = isUniqueViolation(e) || (e instanceof DomainError && e.kind === 'conflict');
    const site = raced ? await this.db.prisma.site.findUnique({ where: { id } }) : null;
    if (!site) throw e;
    return site;
  }

  /** Removes enrolment requests nobody approved or rejected in time (a site may simply ask again). */
  async expirePending(): Promise<number> {
    const before = new Date(this.clock.now() - this.config.enrollment.pendingExpirySeconds * 1000);
    const stale = await this.db.prisma.site.findMany({ where: { status: 'pending', createdAt: { lt: before } }, select: { id: true } });
    if (!stale.length) return 0;
    await this.db.prisma.$transaction(async (tx) => {
      await tx.site.deleteMany({ where: { id: { in: stale.map((s) => s.id) }, status: 'pending' } });
      for (const s of stale) await this.audit.record('system', 'site.enroll-expired', s.id, {}, tx);
    });
    return stale.length;
  }

  private async enrollmentView(site: Site): Promise<EnrollmentResult> {
    const status = site.status as SiteStatus;
    const cert = status === 'approved' ? await this.db.prisma.certificate.findFirst({ where: { siteId: site.id, revokedAt: null }, orderBy: { createdAt: 'desc' } }) : null;
    const messages: Record<SiteStatus, string> = {
      pending: 'waiting for an administrator to approve this site',
      approved: 'approved',
      rejected: 'an administrator rejected this site',
      revoked: 'this site was revoked by an administrator',
    };
    return {
      siteId: site.id,
      status,
      certificatePem: cert?.pem ?? '',
      caCertificatePem: this.config.insecure ? '' : this.certificates.caCertificatePem(),
      message: messages[status],
    };
  }

  /**
   * An admin approves a pending site: its CSR is signed with CN = site id. Approving an approved
   * site answers its view again; a site rejected or revoked meanwhile is a conflict.
   */
  async approve(actor: Actor, siteId: string): Promise<SiteView> {
    const site = await this.get(siteId);
    if (site.status === 'approved') return this.view(site);
    if (site.status !== 'pending') throw conflict(`site ${quote(siteId)} is ${site.status}; only a pending site can be approved`);
    // Signing (pure-JS RSA) takes 0.1-0.2 s, and 3-5 s on a loaded machine: done before the
    // transaction, whose timeout (5 s) it would otherwise run past.
    const issued = site.csrPem ? this.certificates.issue(site.csrPem, siteId) : null;
    const approved = await this.db.prisma.$transaction(async (tx) => {
      // Only if still pending: of two approvals at once, one signs in the certificate and the other
      // finds the site approved; a rejection or revocation in between wins.
      const { count } = await tx.site.updateMany({ where: { id: siteId, status: 'pending' }, data: { status: 'approved' } });
      if (count === 0) return false;
      if (issued) {
        await tx.certificate.create({ data: { serial: issued.serial, siteId, pem: issued.certificatePem, notAfter: issued.notAfter } });
        await this.audit.record(actor, 'certificate.issue', siteId, { serial: issued.serial, notAfter: issued.notAfter.toISOString() }, tx);
      }
      await this.audit.record(actor, 'site.approve', siteId, {}, tx);
      return true;
    });
    const now = await this.get(siteId);
    if (!approved && now.status !== 'approved') throw conflict(`site ${quote(siteId)} became ${now.status} while it was being approved; only a pending site can be approved`);
    return this.view(now);
  }

  async reject(actor: Actor, siteId: string): Promise<SiteView> {
    const site = await this.get(siteId);
    if (site.status !== 'pending') throw conflict(`site ${quote(siteId)} is ${site.status}; only a pending site can be rejected`);
    // Only if still pending: an approval that came first keeps its certificate valid and its site approved.
    const rejected = await this.db.prisma.$transaction(async (tx) => {
      const { count } = await tx.site.updateMany({ where: { id: siteId, status: 'pending' }, data: { status: 'rejected' } });
      if (count === 1) await this.audit.record(actor, 'site.reject', siteId, {}, tx);
      return count === 1;
    });
    const now = await this.get(siteId);
    if (!rejected) throw conflict(`site ${quote(siteId)} became ${now.status} while it was being rejected; only a pending site can be rejected`);
    return this.view(now);
  }

  /** Revokes every certificate of the site; its calls are refused from now on. */
  async revoke(actor: Actor, siteId: string): Promise<SiteView> {
    const site = await this.get(siteId);
    // Sites enrolled before fingerprints were stored get theirs now, so the key stays refused.
    const keyFingerprint = site.keyFingerprint ?? (site.csrPem ? this.certificates.csrFingerprint(site.csrPem) : null);
    const now = new Date(this.clock.now());
    const updated = await this.db.prisma.$transaction(async (tx) => {
      const certs = await tx.certificate.findMany({ where: { siteId, revokedAt: null } });
      for (const c of certs) {
        this.certificates.revoke(c.serial, now);
        await tx.certificate.update({ where: { serial: c.serial }, data: { revokedAt: now } });
      }
      await this.audit.record(actor, 'site.revoke', siteId, { serials: certs.map((c) => c.serial) }, tx);
      return tx.site.update({ where: { id: siteId }, data: { status: 'revoked', keyFingerprint } });
    });
    this.approvedAt.delete(siteId);
    this.revocations++;
    return this.view(updated);
  }

  /**
   * The site behind a call must exist and be approved; anything else is refused. Every RPC of every
   * site asks (at 500 sites, hundreds of reads a second), so an approval is remembered for
   * ACTIVE_FOR_MS. Revoking here forgets it at once. Revocation does not rest on
   * this check alone: a revoked site's certificate is refused before it, on every call, including
   * one revoked by another coordinator or the CLI (the shared revocation list, pki/ca.ts).
   */
  async requireActive(siteId: string): Promise<void> {
    const seen = this.approvedAt.get(siteId);
    if (seen !== undefined && this.clock.now() - seen < ACTIVE_FOR_MS) return;
    const revocations = this.revocations;
    const site = await this.db.prisma.site.findUnique({ where: { id: siteId }, select: { status: true } });
    if (!site) throw new DomainError('unauthenticated', `site ${quote(siteId)} is not enrolled`);
    if (site.status !== 'approved') throw forbidden(`site ${quote(siteId)} is ${site.status}`);
    // A read that raced a revocation may predate it: used once, not remembered.
    if (revocations === this.revocations) this.approvedAt.set(siteId, this.clock.now());
  }

  /**
   * Sites that have called as approved sites since this process started, less those it revoked:
   * the federation's size, read without the database (task-builder paces polling by it).
   */
  activeSites(): number {
    return this.approvedAt.size;
  }

  /** Records a heartbeat; those arriving together are written in one statement (writeHeartbeats). */
  heartbeat(siteId: string, state: string): Promise<void> {
    return this.heartbeats.add(siteId, { at: this.clock.now(), state: truncateCodePoints(state, 200) });
  }

  private async writeHeartbeats(beats: Array<[string, { at: number; state: string }]>): Promise<void> {
    const ids = beats.map(([id]) => id);
    const at = beats.map(([, b]) => new Date(b.at).toISOString());
    const states = beats.map(([, b]) => b.state);
    await this.db.prisma.$executeRaw`
      UPDATE sites AS s SET last_heartbeat_at = v.at, agent_state = v.state
      FROM unnest(${ids}::text[], ${at}::timestamptz[], ${states}::text[]) AS v(id, at, state)
      WHERE s.id = v.id`;
  }

  isAlive(site: Pick<Site, 'lastHeartbeatAt'>): boolean {
    const last = site.lastHeartbeatAt?.getTime();
    // A coordinator restart gives every site that had beaten before it a fresh window (round-state's coordinatorRestarted).
    return last !== undefined && this.clock.now() - Math.max(last, this.startedAt) <= this.config.rounds.heartbeatTimeoutSeconds * 1000;
  }

  /** Approved sites with a recent heartbeat: the ones a round can expect an update from. */
  async aliveSiteIds(): Promise<string[]> {
    const sites = await this.db.prisma.site.findMany({ where: { status: 'approved' } });
    return sites.filter((s) => this.isAlive(s)).map((s) => s.id);
  }

  async get(siteId: string): Promise<Site> {
    const site = await this.db.prisma.site.findUnique({ where: { id: siteId } });
    if (!site) throw notFound(`site ${quote(siteId)} does not exist`);
    return site;
  }

  async list(): Promise<SiteView[]> {
    return (await this.db.prisma.site.findMany({ orderBy: { createdAt: 'asc' } })).map((s) => this.view(s));
  }

  view(s: Site): SiteView {
    return {
      id: s.id,
      displayName: s.displayName,
      status: s.status as SiteStatus,
      alive: this.isAlive(s),
      lastHeartbeatAt: s.lastHeartbeatAt?.toISOString() ?? null,
      agentState: s.agentState,
      capabilities: s.capabilities,
      createdAt: s.createdAt.toISOString(),
    };
  }
}
