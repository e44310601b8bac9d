/**
 * The coordinator's logs: one JSON object per line (pino) for log collectors, or a plain readable
 * line for a person at a terminal; colour only on a terminal. Every line logged while an HTTP
 * request is handled carries that request's id (see request-id.ts).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { LoggerService, LogLevel } from '@nestjs/common';
import pino from 'pino';

export type LogFormat = 'json' | 'text';

/** The request being handled, for the lines logged on its behalf. */
export const requestContext = new AsyncLocalStorage<{ requestId: string }>();

/** FEDCISS_LOG_FORMAT if set (json | text), else text on a terminal and JSON everywhere else. */
export function logFormatFor(env: NodeJS.ProcessEnv, isTTY: boolean): LogFormat {
  const v = env.FEDCISS_LOG_FORMAT;
  if (v === 'json' || v === 'text') return v;
  if (v) throw new Error(`FEDCISS_LOG_FORMAT must be json or text (got '${v}')`);
  return isTTY ? 'text' : 'json';
}

const PINO_LEVEL: Record<LogLevel, pino.Level> = { verbose: 'trace', debug: 'debug', log: 'info', warn: 'warn', error: 'error', fatal: 'fatal' };

export interface CoordinatorLoggerOptions {
  format: LogFormat;
  /** Nest levels to print (default: log, warn, error, fatal). */
  levels?: LogLevel[];
  /** Where lines go (default: stdout). */
  write?: (line: string) => void;
  /** Colour in text mode (default: only when stdout is a terminal and NO_COLOR is unset). */
  colour?: boolean;
}

const COLOURS: Partial<Record<pino.Level, string>> = { warn: '\x1b[33m', error: '\x1b[31m', fatal: '\x1b[31m' };

/** A Nest LoggerService; Nest passes the context (e.g. 'Federation') as the last string argument. */
export class CoordinatorLogger implements LoggerService {
  private readonly pino?: pino.Logger;
  private readonly enabled: Set<LogLevel>;
  private readonly write: (line: string) => void;
  private readonly colour: boolean;

  constructor(options: CoordinatorLoggerOptions) {
    this.enabled = new Set(options.levels ?? ['log', 'warn', 'error', 'fatal']);
    this.write = options.write ?? ((line) => process.stdout.write(line));
    this.colour = options.colour ?? (process.stdout.isTTY === true && !process.env.NO_COLOR);
    if (options.format === 'json') {
      this.pino = pino(
        {
          base: { service: 'coordinator' },
          level: 'trace',
          timestamp: pino.stdTimeFunctions.isoTime,
          formatters: { level: (label) => ({ level: label }) },
          mixin: () => {
            const ctx = requestContext.getStore();
            return ctx ? { requestId: ctx.requestId } : {};
          },
        },
        { write: (line: string) => this.write(line) },
      );
    }
  }

  log(message: unknown, ...rest: unknown[]) { this.emit('log', message, rest); }
  warn(message: unknown, ...rest: unknown[]) { this.emit('warn', message, rest); }
  error(message: unknown, ...rest: unknown[]) { this.emit('error', message, rest); }
  fatal(message: unknown, ...rest: unknown[]) { this.emit('fatal', message, rest); }
  debug(message: unknown, ...rest: unknown[]) { this.emit('debug', message, rest); }
  verbose(message: unknown, ...rest: unknown[]) { this.emit('verbose', message, rest); }

  /** A structured event with fields (e.g. one line per HTTP request). */
  event(level: LogLevel, context: string, message: string, fields: Record<string, unknown>): void {
    if (!this.enabled.has(level)) return;
    if (this.pino) return this.pino[PINO_LEVEL[level]]({ context, ...fields }, message);
    const extra = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
    this.line(level, context, `${message}${extra ? ' ' + extra : ''}`);
  }

  private emit(level: LogLevel, message: unknown, rest: unknown[]): void {
    if (!this.enabled.has(level)) return;
    // Nest: (message, context) or, for errors, (message, stack, context)
    const params = [...rest];
    const context = params.length && typeof params[params.length - 1] === 'string' ? (params.pop() as string) : undefined;
    const stack = level === 'error' && typeof params[0] === 'string' ? (params.shift() as string) : undefined;
    const text = message instanceof Error ? message.message : typeof message === 'string' ? message : JSON.stringify(message);
    const err = message instanceof Error ? message.stack : stack;
    if (this.pino) {
      this.pino[PINO_LEVEL[level]]({ ...(context ? { context } : {}), ...(err ? { stack: err } : {}) }, text);
      return;
    }
    this.line(level, context, err ? `${text}\n${err}` : text);
  }

  private line(level: LogLevel, context: string | undefined, text: string): void {
    const label = PINO_LEVEL[level];
    const requestId = requestContext.getStore()?.requestId;
    const head = `${new Date().toISOString().slice(11, 23)} ${label.toUpperCase().padEnd(5)}${context ? ` [${context}]` : ''}${requestId ? ` (${requestId})` : ''}`;
    const c = this.colour ? COLOURS[label] : undefined;
    this.write(`${c ? c + head + '\x1b[0m' : head} ${text}\n`);
  }
}
