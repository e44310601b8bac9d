/**
 * Structured logs: one JSON object per line (for log collectors) or a readable line (for a person
 * at a terminal), to stderr so stdout stays free for command output.
 */
export type Level = 'info' | 'warn' | 'error';

export interface AgentLog {
  (level: Level, event: string, fields?: Record<string, unknown>): void;
}

export function createLog(format: 'json' | 'text', site = ''): AgentLog {
  return (level, event, fields = {}) => {
    if (format === 'json') {
      process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level, site, event, ...fields }) + '\n');
      return;
    }
    const extra = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
    process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${level === 'info' ? '' : level.toUpperCase() + ' '}${site ? `[${site}] ` : ''}${event}${extra ? ' ' + extra : ''}\n`);
  };
}
