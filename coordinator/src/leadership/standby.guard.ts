import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Leadership } from './leadership.service';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * REST on a standby coordinator: reads are served (the database is shared), anything that would
 * change the federation is refused with 503 until this coordinator leads.
 */
@Injectable()
export class StandbyGuard implements CanActivate {
  constructor(private readonly leadership: Leadership) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const method = context.switchToHttp().getRequest<{ method: string }>().method;
    if (!READS.has(method)) this.leadership.requireLeader();
    return true;
  }
}
