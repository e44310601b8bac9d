import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { Inject, Injectable } from '@nestjs/common';
import { parseDiffusionConfig, parseSegmenterConfig, type DiffusionConfig, type NamedTensors, type SegmenterConfig } from '@fedciss/ml';
import type { ChunkDigests } from '@fedciss/proto';
import type { ModelKind, ModelVersion, Prisma } from '../generated/prisma/client';
import { DatabaseService } from '../database/database.service';
import { toJsonColumn } from '../database/json-column';
import { BLOB_STORE } from '../common/tokens';
import { notFound } from '../common/errors';
import type { BlobStore, StoredBlob } from '../model-store/blob-store';
import { readSafetensorsFile, writeSafetensorsFile } from '../model-store/safetensors-file';
import { quote } from '../common/text';

export type { ModelKind };

/** What a version holds: weights in memory, or a safetensors file already written with versionMetadata (consumed: moved into the store). */
export type ModelContent = { weights: NamedTensors; file?: never } | { file: string; weights?: never };

export type NewModelVersion = ModelContent & {
  kind: ModelKind;
  parentId?: string | null;
  stepIndex: number;
  roundId?: string | null;
  numClasses: number;
  /** A segmenter's architecture or a generator's configuration (ml's types), by `kind`. */
  config: SegmenterConfig | DiffusionConfig;
  note?: string;
};

/** The header metadata of a version's safetensors file: what a reader needs to rebuild the model. */
export function versionMetadata(v: Pick<NewModelVersion, 'kind' | 'numClasses' | 'config'>): Record<string, string> {
  return { kind: v.kind, numClasses: String(v.numClasses), config: JSON.stringify(v.config) };
}

/** A segmenter version's architecture, parsed from its JSON column; a malformed one is an error naming the version and the field. */
export function segmenterConfigOf(row: Pick<ModelVersion, 'id' | 'config'>): SegmenterConfig {
  return parseSegmenterConfig(row.config, `model version ${row.id}'s config`);
}

/** A generator version's configuration, parsed from its JSON column (errors as segmenterConfigOf's). */
export function generatorConfigOf(row: Pick<ModelVersion, 'id' | 'config'>): DiffusionConfig {
  return parseDiffusionConfig(row.config, `model version ${row.id}'s config`);
}

/** How many version rows ModelVersionsService.get keeps (a few KB each: a step reads a handful). */
const READ_ROWS_KEPT = 256;

/**
 * Immutable model and generator versions: bytes in the content-addressed store, a row in the
 * database. The blob is written (durably) before the row, so a row never points at missing bytes;
 * a crash between the two leaves only an unreferenced blob.
 */
@Injectable()
export class ModelVersionsService {
  private readonly rowsRead = new Map<string, ModelVersion>();

  constructor(private readonly db: DatabaseService, @Inject(BLOB_STORE) private readonly store: BlobStore) {}

  async create(v: NewModelVersion, tx: Pick<Prisma.TransactionClient, 'modelVersion'> = this.db.prisma): Promise<ModelVersion> {
    return this.record(await this.storeContent(v), v, tx);
  }

  /**
   * Stores a version's bytes ahead of its row (a file is hashed as it streams into the store: a
   * model of any size is never whole in memory). Done before the transaction that records it when
   * the model may be large: hashing gigabytes must not hold a transaction open. Weights are written
   * to a file tensor by tensor first, so the model is held once (the caller's tensors), not a
   * second time as one Buffer (a 2.5 GB initial model peaked at twice its size that way).
   */
  async storeContent(v: NewModelVersion): Promise<StoredBlob> {
    if (v.file !== undefined) return this.store.putFile(v.file);
    const file = this.store.scratchPath();
    try {
      await writeSafetensorsFile(file, v.weights, versionMetadata(v));
      return await this.store.putFile(file);
    } finally {
      await rm(file, { force: true }); // moved into the store unless writing it failed
    }
  }

  /** The row of a version whose bytes `blob` are already in the store. */
  async record(blob: StoredBlob, v: Omit<NewModelVersion, keyof ModelContent>, tx: Pick<Prisma.TransactionClient, 'modelVersion'> = this.db.prisma): Promise<ModelVersion> {
    const prefix = v.kind === 'segmenter' ? 'seg' : 'gen';
    return tx.modelVersion.create({
      data: {
        id: `${prefix}-${v.stepIndex}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`,
        kind: v.kind,
        sha256: blob.sha256,
        sizeBytes: BigInt(blob.sizeBytes),
        parentId: v.parentId ?? null,
        stepIndex: v.stepIndex,
        roundId: v.roundId ?? null,
        storageUri: blob.uri,
        numClasses: v.numClasses,
        config: toJsonColumn(v.config),
        note: v.note ?? '',
      },
    });
  }

  /**
   * A version's row. Rows are never changed once written, so the latest ones read are kept
   * (READ_ROWS_KEPT): every site's task names three versions and every download reads one, and at
   * 500 sites these reads held most of the database's connections while a round opened.
   */
  async get(id: string): Promise<ModelVersion> {
    const kept = this.rowsRead.get(id);
    if (kept) return kept;
    const row = await this.db.prisma.modelVersion.findUnique({ where: { id } });
    if (!row) throw notFound(`model version ${quote(id)} does not exist`);
    this.rowsRead.set(id, row);
    if (this.rowsRead.size > READ_ROWS_KEPT) this.rowsRead.delete(this.rowsRead.keys().next().value!);
    return row;
  }

  /** A local file holding the version's bytes (verified against its hash), to read by slices: never written. */
  async localFile(id: string): Promise<{ row: ModelVersion; path: string }> {
    const row = await this.get(id);
    return { row, path: await this.store.getFile(row.sha256) };
  }

  /** The version's file for sending in chunks of `chunkBytes`, with the chunks' running hashes. */
  async file(id: string, chunkBytes: number): Promise<{ row: ModelVersion; path: string; digests: ChunkDigests }> {
    const row = await this.get(id);
    return { row, ...(await this.store.getFileToSend(row.sha256, chunkBytes)) };
  }

  /** The version's tensors, read from its (verified) file tensor by tensor: a model past 2 GiB too, held once. */
  async weights(id: string): Promise<NamedTensors> {
    return readSafetensorsFile((await this.localFile(id)).path);
  }

  list(kind?: ModelKind) {
    return this.db.prisma.modelVersion.findMany({ where: kind ? { kind } : {}, orderBy: { createdAt: 'asc' } });
  }
}
