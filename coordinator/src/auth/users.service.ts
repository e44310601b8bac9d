import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../database/database.service';
import { AuditService } from '../audit/audit.service';
import { conflict, invalid, notFound } from '../common/errors';
import { isRole, type Role } from './roles';

export interface UserView {
  username: string;
  role: Role;
  disabled: boolean;
  createdAt: string;
}

export interface UserChange {
  role?: Role;
  disabled?: boolean;
}

/**
 * Console accounts as admins manage them: list, change role, disable or enable. Disabling ends the
 * user's sessions at once. Nobody changes their own account here (no admin locks themself out),
 * and the last enabled admin stays an enabled admin.
 */
@Injectable()
export class UsersService {
  constructor(private readonly db: DatabaseService, private readonly audit: AuditService) {}

  async list(): Promise<UserView[]> {
    const rows = await this.db.prisma.adminUser.findMany({ orderBy: { username: 'asc' } });
    return rows.map((u) => ({ username: u.username, role: u.role as Role, disabled: u.disabledAt !== null, createdAt: u.createdAt.toISOString() }));
  }

  async update(actor: string, username: string, change: UserChange): Promise<UserView> {
    if (change.role === undefined && change.disabled === undefined) throw invalid('nothing to change: give role and/or disabled');
    if (change.role !== undefined && !isRole(change.role)) throw invalid(`role must be admin or viewer (got '${change.role}')`);
    if (username === actor) throw conflict('you cannot change your own role or disable your own account; ask another administrator');
    return this.db.prisma.$transaction(async (tx) => {
      const user = await tx.adminUser.findUnique({ where: { username } });
      if (!user) throw notFound(`user '${username}' does not exist`);
      const role = change.role ?? (user.role as Role);
      const disabled = change.disabled ?? user.disabledAt !== null;
      const wasActiveAdmin = user.role === 'admin' && user.disabledAt === null;
      if (wasActiveAdmin && (role !== 'admin' || disabled)) {
        const others = await tx.adminUser.count({ where: { role: 'admin', disabledAt: null, NOT: { id: user.id } } });
        if (others === 0) throw conflict(`'${username}' is the last enabled administrator`);
      }
      const updated = await tx.adminUser.update({
        where: { id: user.id },
        data: { role, disabledAt: disabled ? (user.disabledAt ?? new Date()) : null },
      });
      if (disabled) await tx.adminSession.deleteMany({ where: { userId: user.id } });
      if (role !== user.role) {
        await tx.adminSession.deleteMany({ where: { userId: user.id } });
        await this.audit.record(actor, 'user.role', username, { from: user.role, to: role }, tx);
      }
      if (disabled !== (user.disabledAt !== null)) await this.audit.record(actor, disabled ? 'user.disable' : 'user.enable', username, {}, tx);
      return { username: updated.username, role: updated.role as Role, disabled: updated.disabledAt !== null, createdAt: updated.createdAt.toISOString() };
    });
  }
}
