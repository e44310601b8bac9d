/**
 * What a scan learns about a file by reading it (its image size, its SHA-1), remembered while the
 * file's size and modification time stay what they were, so a rescan only lists and stats the tree.
 * A site agent rescans its dataset at every round (new patients are picked up without a restart);
 * reading every image's and mask's header through libvips and hashing every duplicate candidate
 * made that scan cost about half a second a round for 2,400 files on these machines, where listing
 * and statting them costs about 40 ms. A file whose size or modification time changed is read again
 * (the same rule as the decoded-sample cache, dataset.ts). Failed reads are not remembered.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { readImageSize } from './png';
import type { FileRef, ReadReport } from './types';

type ImageSize = Awaited<ReturnType<typeof readImageSize>>;

interface Known {
  readonly size: number;
  readonly mtimeMs: number;
  imageSize?: Promise<ImageSize>;
  sha1?: Promise<string>;
}

export class FileFacts {
  private readonly known = new Map<string, Known>();
  /** Reads made since creation (header reads and hashes), for tests and logs. */
  readonly reads = { imageSize: 0, sha1: 0 };

  /** The file's current path, size and modification time (always from the file system). */
  async stat(path: string): Promise<FileRef> {
    const s = await stat(path);
    return { path, size: s.size, mtimeMs: s.mtimeMs };
  }

  /** Header-level size of an image; throws on a file that is not a readable image. */
  imageSize(ref: FileRef): Promise<ImageSize> {
    return this.remembered(ref, 'imageSize', () => {
      this.reads.imageSize++;
      return readImageSize(ref.path);
    });
  }

  /** SHA-1 of the file's bytes, hex. */
  sha1(ref: FileRef): Promise<string> {
    return this.remembered(ref, 'sha1', async () => {
      this.reads.sha1++;
      return createHash('sha1').update(await readFile(ref.path)).digest('hex');
    });
  }

  private remembered<K extends 'imageSize' | 'sha1'>(ref: FileRef, fact: K, read: () => NonNullable<Known[K]>): NonNullable<Known[K]> {
    let entry = this.known.get(ref.path);
    if (!entry || entry.size !== ref.size || entry.mtimeMs !== ref.mtimeMs) {
      entry = { size: ref.size, mtimeMs: ref.mtimeMs };
      this.known.set(ref.path, entry);
    }
    const have = entry[fact];
    if (have) return have as NonNullable<Known[K]>;
    const fresh = read();
    entry[fact] = fresh;
    const known = entry;
    // A failed read is tried again next time (the file may be being copied in).
    fresh.catch(() => {
      if (known[fact] === fresh) delete known[fact];
    });
    return fresh;
  }
}

/** A mask's file, read through `facts`, when it is its image's size; a mask of another size is
 * reported ('size-mismatch': the sample is skipped) and gives undefined. Throws when the mask cannot
 * be read (each reader reports that in its own words). */
export async function maskOfImageSize(facts: FileFacts, maskPath: string, imagePath: string, size: { width: number; height: number }, report: ReadReport): Promise<FileRef | undefined> {
  const mask = await facts.stat(maskPath);
  const ms = await facts.imageSize(mask);
  if (ms.width === size.width && ms.height === size.height) return mask;
  report.skip(maskPath, 'size-mismatch', `${maskPath} is ${ms.width}x${ms.height} but ${imagePath} is ${size.width}x${size.height}; sample skipped`);
  return undefined;
}
