import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../database/database.service';
import { isUniqueViolation } from '../database/database-errors';
import { AuditService } from '../audit/audit.service';
import { conflict, DomainError, invalid } from '../common/errors';
import { checkPasswordPolicy, hashPassword, verifyPassword } from './password';
import { createSession, hashSessionToken, isWellFormedToken } from './sessions';
import { isRole, type Role } from './roles';
import { quote, truncateCodePoints } from '../common/text';

export interface Principal {
  userId: string;
  username: string;
  role: Role;
}

/** A hash of nothing in particular, so a sign-in with an unknown user costs as much as a real one. */
let decoyHash: Promise<string> | undefined;

/** Console users, their passwords (scrypt) and sign-in sessions (only token hashes are stored). */
@Injectable()
export class AdminAuthService {
  constructor(private readonly db: DatabaseService, private readonly audit: AuditService) {}

  async createUser(actor: string, username: string, password: string, role: Role): Promise<Principal> {
    if (!/^[a-z][a-z0-9._-]{1,31}$/.test(username)) throw invalid('username must be 2..32 lower-case letters, digits, . _ -, starting with a letter');
    if (!isRole(role)) throw invalid(`role must be admin or viewer (got ${quote(role)})`);
    const problems = checkPasswordPolicy(password, { username });
    if (problems.length) throw invalid(`password: ${problems.join('; ')}`);
    if (await this.db.prisma.adminUser.findUnique({ where: { username } })) throw conflict(`user ${quote(username)} already exists`);
    const id = `usr-${randomBytes(6).toString('hex')}`;
    const passwordHash = await hashPassword(password);
    await this.db.prisma.$transaction(async (tx) => {
      await tx.adminUser.create({ data: { id, username, passwordHash, role } });
      await this.audit.record(actor, 'user.create', username, { role }, tx);
    }).catch((e: unknown) => {
      // Created by another request while the password was being hashed.
      throw isUniqueViolation(e) ? conflict(`user ${quote(username)} already exists`) : e;
    });
    return { userId: id, username, role };
  }

  async userCount(): Promise<number> {
    return this.db.prisma.adminUser.count();
  }

  /** Checks a password and opens a session; the same error for an unknown user and a wrong password. */
  async signIn(username: string, password: string): Promise<{ token: string; expiresAt: Date; principal: Principal }> {
    const user = await this.db.prisma.adminUser.findUnique({ where: { username: String(username) } });
    decoyHash ??= hashPassword(randomBytes(16).toString('hex'));
    const ok = await verifyPassword(String(password), user?.passwordHash ?? (await decoyHash));
    // A disabled account answers like a wrong password: nothing to learn about which accounts exist.
    if (!user || !ok || user.disabledAt) {
      await this.audit.record(`anonymous`, 'auth.sign-in-failed', truncateCodePoints(String(username), 64));
      throw new DomainError('unauthenticated', 'wrong username or password');
    }
    const role = user.role as Role;
    const { token, record } = createSession(user.id, role);
    await this.db.prisma.adminSession.create({ data: { tokenHash: record.tokenHash, userId: user.id, expiresAt: record.expiresAt } });
    await this.audit.record(user.username, 'auth.sign-in', user.username);
    return { token, expiresAt: record.expiresAt, principal: { userId: user.id, username: user.username, role } };
  }

  async resolve(token: string | null | undefined): Promise<Principal | null> {
    if (!isWellFormedToken(token)) return null;
    const session = await this.db.prisma.adminSession.findUnique({ where: { tokenHash: hashSessionToken(token) }, include: { user: true } });
    if (!session || session.expiresAt.getTime() <= Date.now() || session.user.disabledAt) return null;
    return { userId: session.user.id, username: session.user.username, role: session.user.role as Role };
  }

  async signOut(token: string): Promise<void> {
    if (!isWellFormedToken(token)) return;
    await this.db.prisma.adminSession.deleteMany({ where: { tokenHash: hashSessionToken(token) } });
  }
}
