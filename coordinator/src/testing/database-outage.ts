/** For unit tests of what the coordinator does when its database is out of reach for a moment. */
import { Logger, type LoggerService } from '@nestjs/common';
import { Prisma } from '../generated/prisma/client';

/** What Prisma throws when the database server cannot be reached (P1001). */
export function unreachableDatabase(): Prisma.PrismaClientKnownRequestError {
  return new Prisma.PrismaClientKnownRequestError("Can't reach database server at postgres", { code: 'P1001', clientVersion: 'test' });
}

/** Nest's log lines from now on, as [level, message]; end the capture with
 * `Logger.overrideLogger(false)` (Nest then logs nothing for the rest of the process). */
export function captureLogs(): Array<[string, string]> {
  const logged: Array<[string, string]> = [];
  const capture = (level: string) => (message: unknown) => void logged.push([level, String(message)]);
  Logger.overrideLogger({ log: capture('log'), warn: capture('warn'), error: capture('error') } as LoggerService);
  return logged;
}
