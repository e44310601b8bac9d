import { Inject, Injectable } from '@nestjs/common';
import type { Prisma } from '../generated/prisma/client';
import { DatabaseService } from '../database/database.service';
import { AuditService, type Actor } from '../audit/audit.service';
import { CLOCK, CONFIG, type Clock } from '../common/tokens';
import { conflict, forbidden, invalid } from '../common/errors';
import type { CoordinatorConfig } from '../config/coordinator-config';
import { parseBindAddress } from '../pki';
import { SiteCertificates } from './site-certificates';
import { invitationIdOf, mintToken, tokenMatches } from './invitation-token';

/** What `site-agent enroll --bundle` reads: everything a hospital needs to ask to join, in one file. */
export interface InvitationBundle {
  format: 'fedciss-invitation/1';
  siteName: string;
  invitationId: string;
  /** One-time enrolment token; the coordinator keeps only its hash. */
  token: string;
  expiresAt: string;
  /** host:port of the federation endpoint (mutual TLS) and of the enrolment endpoint (server TLS). */
  federationAddress: string;
  enrollAddress: string;
  caCertificatePem: string;
  /** SHA-256 of the CA certificate, AA:BB:… (to compare with what the operator says on the phone). */
  caFingerprint256: string;
}

export interface InvitationView {
  id: string;
  siteName: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  usedAt: string | null;
  siteId: string | null;
  state: 'open' | 'used' | 'expired';
}

export interface InviteInput {
  siteName: string;
  /** Hours until the token expires (1..720; default 72). */
  expiresHours?: number;
  federationAddress?: string;
  enrollAddress?: string;
}

export const MAX_INVITATION_HOURS = 720;

function nextPort(address: string): string {
  return address.replace(/:(\d+)$/, (_, p: string) => `:${Number(p) + 1}`);
}
const MAX_NAME = 120;

/**
 * Invitations to enrol: an operator invites a hospital by name; the bundle carries a one-time token
 * that expires. Enrolment checks the token before the site is created and consumes it in the same
 * transaction; every invitation, use and refusal is audited. Whether a token is required at all is
 * the coordinator's `enrollment.mode` setting ('invitation' with mutual TLS; 'open' for the loopback demo).
 */
@Injectable()
export class InvitationsService {
  constructor(
    private readonly db: DatabaseService,
    private readonly audit: AuditService,
    private readonly certificates: SiteCertificates,
    @Inject(CONFIG) private readonly config: CoordinatorConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async create(actor: Actor, input: InviteInput): Promise<InvitationBundle> {
    const siteName = input.siteName.trim();
    if (!siteName || siteName.length > MAX_NAME || /[\u0000-\u001f\u007f]/.test(siteName)) throw invalid(`name must be 1..${MAX_NAME} printable characters`);
    const hours = input.expiresHours ?? 72;
    if (!Number.isInteger(hours) || hours < 1 || hours > MAX_INVITATION_HOURS) throw invalid(`expiresHours must be an integer 1..${MAX_INVITATION_HOURS} (got ${hours})`);
    const federationAddress = input.federationAddress ?? this.reachableAddress(this.config.grpcAddress);
    // As the agent assumes: the enrolment port is the federation port + 1 unless said otherwise.
    const enrollAddress = input.enrollAddress ?? (input.federationAddress ? nextPort(input.federationAddress) : this.reachableAddress(this.config.enrollAddress));
    for (const [name, a] of [['federationAddress', federationAddress], ['enrollAddress', enrollAddress]] as const) {
      if (!/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9A-Fa-f:]+\]:\d{1,5}$/.test(a)) throw invalid(`${name} must be host:port as the site reaches it (got '${a}')`);
    }
    const ca = this.certificates.authority();
    const minted = mintToken();
    const expiresAt = new Date(this.clock.now() + hours * 3600_000);
    await this.db.prisma.$transaction(async (tx) => {
      await tx.invitation.create({ data: { id: minted.invitationId, siteName, tokenHash: minted.hash, createdBy: actor, expiresAt } });
      await this.audit.record(actor, 'invitation.create', minted.invitationId, { siteName, expiresAt: expiresAt.toISOString() }, tx);
    });
    return {
      format: 'fedciss-invitation/1', siteName, invitationId: minted.invitationId, token: minted.token, expiresAt: expiresAt.toISOString(),
      federationAddress, enrollAddress, caCertificatePem: ca.certificatePem, caFingerprint256: ca.fingerprint256,
    };
  }

  /** A bind address as a site reaches it: a wildcard host becomes the first TLS hostname. */
  private reachableAddress(bind: string): string {
    const { host, port } = parseBindAddress(bind);
    const wildcard = !host || host === '0.0.0.0' || host === '::';
    const name = wildcard ? this.config.tlsHostnames[0] : host;
    if (!name) throw invalid(`the coordinator listens on ${bind}: say how sites reach it (federationAddress / enrollAddress, or --tls-hostname)`);
    return `${name.includes(':') ? `[${name}]` : name}:${port}`;
  }

  async list(): Promise<InvitationView[]> {
    const now = this.clock.now();
    const rows = await this.db.prisma.invitation.findMany({ orderBy: { createdAt: 'desc' } });
    return rows.map((r) => ({
      id: r.id, siteName: r.siteName, createdBy: r.createdBy, createdAt: r.createdAt.toISOString(), expiresAt: r.expiresAt.toISOString(),
      usedAt: r.usedAt?.toISOString() ?? null, siteId: r.siteId,
      state: r.usedAt ? 'used' : r.expiresAt.getTime() <= now ? 'expired' : 'open',
    }));
  }

  /**
   * The enrolment hook, before a new site is created: the invitation the token belongs to, or null
   * when enrolment is open and no token came. A missing, unknown, wrong, used or expired token is
   * refused (PERMISSION_DENIED) and the refusal audited, with the reason and never the token.
   */
  async check(token: string | undefined, peer: string): Promise<{ id: string; siteName: string } | null> {
    if (!token && this.config.enrollment.mode === 'open') return null;
    const refuse = async (reason: string, invitationId = '') => {
      await this.audit.record(`peer:${peer}`, 'invitation.refuse', invitationId || '-', { reason });
      return forbidden(`enrolment refused: ${reason}`);
    };
    if (!token) throw await refuse('this coordinator enrols invited sites only: use the invitation bundle from its operator (site-agent enroll --bundle FILE)');
    const id = invitationIdOf(token);
    if (!id) throw await refuse('the invitation token is malformed');
    const row = await this.db.prisma.invitation.findUnique({ where: { id } });
    if (!row || !tokenMatches(token, row.tokenHash)) throw await refuse('the invitation token is not valid', row ? id : '');
    if (row.usedAt) throw await refuse(`the invitation was already used (${row.usedAt.toISOString()}); ask the operator for a new one`, id);
    if (row.expiresAt.getTime() <= this.clock.now()) throw await refuse(`the invitation expired at ${row.expiresAt.toISOString()}; ask the operator for a new one`, id);
    return { id: row.id, siteName: row.siteName };
  }

  /** Marks the invitation used by `siteId`, in the transaction that creates the site (one use only, even under a race). */
  async consume(tx: Prisma.TransactionClient, invitationId: string, siteId: string, requestedName: string): Promise<void> {
    const now = new Date(this.clock.now());
    const { count } = await tx.invitation.updateMany({ where: { id: invitationId, usedAt: null, expiresAt: { gt: now } }, data: { usedAt: now, siteId } });
    if (count !== 1) throw conflict('enrolment refused: the invitation was used or expired meanwhile');
    await this.audit.record(`site:${siteId}`, 'invitation.use', invitationId, { siteId, requestedName }, tx);
  }
}
