import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, constants, copyFileSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** File mode for private keys. */
export const PRIVATE_FILE_MODE = 0o600;
/** File mode for certificates and other public material. */
export const PUBLIC_FILE_MODE = 0o644;

/**
 * Writes a file atomically: the content goes to a temporary file in the same directory (created
 * with `mode`, fsynced), which is then renamed over the target. A reader sees either the old or the
 * new content, never a partial one; a private key is never readable by others, even briefly.
 */
export function writeFileAtomic(path: string, data: string | Buffer, mode: number): void {
  replaceAtomically(path, mode, (tmp) => {
    const fd = openSync(tmp, 'wx', mode);
    try {
      const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  });
}

/**
 * Copies a file of any size to `path` as writeFileAtomic writes one: the kernel copies it, so it is
 * never whole in memory (a Buffer, and so readFile, stops at 2 GiB).
 */
export function copyFileAtomic(from: string, path: string, mode: number): void {
  replaceAtomically(path, mode, (tmp) => {
    copyFileSync(from, tmp, constants.COPYFILE_EXCL); // with the source's mode until replaceAtomically sets `mode`
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  });
}

/** Has `fill` write a temporary file next to `path` (durably), then renames it over `path`. */
function replaceAtomically(path: string, mode: number, fill: (tmp: string) => void): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    fill(tmp);
    chmodSync(tmp, mode); // the umask may have narrowed it, or a copy have the source's
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // directory fsync is not supported everywhere (e.g. Windows); the rename is still atomic
  }
}

/** Throws when a private key file is readable or writable by group or others (POSIX only). */
export function assertPrivateFileMode(path: string): void {
  if (process.platform === 'win32') return;
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new Error(
      `private key ${path} has permissions ${mode.toString(8).padStart(3, '0')}; it must not be accessible to ` +
        `group or others (run: chmod 600 ${path})`,
    );
  }
}
