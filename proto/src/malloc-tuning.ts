/**
 * The glibc allocator settings a process that moves models runs with.
 *
 * A transfer allocates a fresh buffer of about a chunk (4 MiB) several times per chunk: grpc-js
 * frames every message into a new buffer on the sending side and joins its HTTP/2 frames into a new
 * one on the receiving side. With glibc's defaults, memory freed in bulk by a garbage collection
 * goes back to the kernel, so the next buffers are fresh pages again: the kernel zeroes and maps
 * every 4 KiB page on first touch. Allocating and filling a 4 MiB buffer then cost 0.6 s per GiB
 * against 0.04 s for filling one reused (this machine); gRPC transfers spent about half their CPU there.
 *
 * With these settings a freed buffer of up to 32 MiB stays in the process (up to 64 MiB of free
 * memory is kept rather than handed back) and the next chunk reuses it. glibc reads GLIBC_TUNABLES
 * once, when a process starts: it has to be in the environment a coordinator or site agent is
 * started with (the container images and the systemd unit set it; the test harness and benchmarks
 * start their processes with it). Other C libraries (musl) ignore it.
 */

/** glibc tunables, in GLIBC_TUNABLES syntax. */
export const MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=67108864';

const tunables = (value: string | undefined): string[] => (value ? value.split(':').filter(Boolean) : []);
const nameOf = (tunable: string): string => tunable.split('=')[0]!;

/**
 * `env` with MALLOC_TUNABLES added to its GLIBC_TUNABLES: for the environment of a process to start.
 * A tunable `env` already sets keeps its value.
 */
export function withMallocTunables(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const own = tunables(env.GLIBC_TUNABLES);
  const names = new Set(own.map(nameOf));
  const added = tunables(MALLOC_TUNABLES).filter((t) => !names.has(nameOf(t)));
  return { ...env, GLIBC_TUNABLES: [...own, ...added].join(':') };
}

/**
 * The names of MALLOC_TUNABLES' settings missing from `env`'s GLIBC_TUNABLES (empty: all set). For
 * a process's own environment: what it started with, as glibc read it then.
 */
export function missingMallocTunables(env: NodeJS.ProcessEnv = process.env): string[] {
  const names = new Set(tunables(env.GLIBC_TUNABLES).map(nameOf));
  return tunables(MALLOC_TUNABLES).map(nameOf).filter((n) => !names.has(n));
}

/** A start-up warning for a process started without the settings, or undefined when they are set. */
export function mallocTuningWarning(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const missing = missingMallocTunables(env);
  if (!missing.length) return undefined;
  return (
    `GLIBC_TUNABLES does not set ${missing.join(', ')}: model transfers will run two to three times slower ` +
    `(start the program with GLIBC_TUNABLES=${MALLOC_TUNABLES}; DEPLOY.md, "Allocator settings")`
  );
}
