/**
 * A throw-away PostgreSQL server for tests, started from the system's binaries (Debian's
 * postgresql package; .ci/run installs it). Runs as the `postgres` user when we are root, because
 * initdb refuses root. Listens on loopback only, with fsync off, in a temporary folder that is
 * removed on stop.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { freePort } from './ports';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PostgresServer {
  url: string;
  /** URL of another, freshly created database on the same server. */
  createDatabase(name: string): string;
  stop(): void;
}

function findBinDir(): string {
  const candidates = [process.env.PG_BIN_DIR ?? ''];
  if (existsSync('/usr/lib/postgresql')) {
    for (const v of readdirSync('/usr/lib/postgresql').sort().reverse()) candidates.push(join('/usr/lib/postgresql', v, 'bin'));
  }
  candidates.push('/usr/local/bin', '/usr/bin');
  const dir = candidates.find((d) => d && existsSync(join(d, 'initdb')) && existsSync(join(d, 'pg_ctl')));
  if (!dir) throw new Error('PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql, or set PG_BIN_DIR');
  return dir;
}

export async function startPostgresServer(): Promise<PostgresServer> {
  const bin = findBinDir();
  const root = mkdtempSync(join(tmpdir(), 'fedciss-pg-'));
  const dataDir = join(root, 'data');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chownSync(root, Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), Number(execFileSync('id', ['-g', 'postgres']).toString().trim()));
  const run = (cmd: string, args: string[]) => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] : [join(bin, cmd), args];
    const r = spawnSync(file, argv, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr || r.stdout}`);
  };
  run('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
  const port = await freePort();
  run('pg_ctl', ['-D', dataDir, '-w', '-l', join(root, 'log'), '-o', `-c listen_addresses=127.0.0.1 -p ${port} -k ${root} -c fsync=off -c full_page_writes=off`, 'start']);
  const url = (db: string) => `postgresql://postgres@127.0.0.1:${port}/${db}`;
  let stopped = false;
  return {
    url: url('postgres'),
    createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database name '${name}' must be lower-case letters, digits and _`);
      run('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', name]);
      return url(name);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        run('pg_ctl', ['-D', dataDir, '-m', 'immediate', 'stop']);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}
