import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { MAX_EXPORT_OPSET, MIN_EXPORT_OPSET, modelCard, type ModelClass, type ModelMetadata, type SegmenterProvenance } from '@fedciss/ml';
import { CLOCK, CONFIG, MODEL_FACTORY, type Clock } from '../common/tokens';
import { invalid } from '../common/errors';
import type { CoordinatorConfig } from '../config/coordinator-config';
import { DatabaseService } from '../database/database.service';
import type { ModelVersion } from '../generated/prisma/client';
import { CA_CERT_FILE } from '../pki';
import type { ModelFactory } from './model-factory';
import { ModelVersionsService } from './model-versions.service';
import { quote } from '../common/text';

export interface ExportedVersion {
  /** The .onnx file: weights and metadata inside. */
  onnx: Buffer;
  metadata: ModelMetadata;
  /** The Markdown model card (the same facts as the metadata). */
  card: string;
}

/** Any segmenter version as a self-contained .onnx inference model (weights inside) that says what
 * it is: its roster at that version, input size and normalisation, lineage, federation and step. */
@Injectable()
export class ModelExportService {
  constructor(
    private readonly models: ModelVersionsService,
    private readonly db: DatabaseService,
    @Inject(MODEL_FACTORY) private readonly factory: ModelFactory,
    @Inject(CONFIG) private readonly config: Pick<CoordinatorConfig, 'pkiDir'>,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** opset: unset for the smallest that expresses the model. */
  async export(id: string, opset?: number): Promise<ExportedVersion> {
    const row = await this.models.get(id);
    if (row.kind !== 'segmenter') throw invalid(`model version ${quote(id)} is a ${row.kind}; only segmenters export to ONNX`);
    if (opset !== undefined && !(Number.isInteger(opset) && opset >= MIN_EXPORT_OPSET && opset <= MAX_EXPORT_OPSET)) {
      throw invalid(`opset must be an integer from ${MIN_EXPORT_OPSET} to ${MAX_EXPORT_OPSET} (got ${opset})`);
    }
    const provenance = await this.provenance(row);
    const { bytes, metadata } = await this.factory.exportOnnx(await this.models.weights(id), { numClasses: row.numClasses, config: row.config as Record<string, unknown> }, { opset, provenance });
    return { onnx: bytes, metadata, card: modelCard(metadata) };
  }

  private async provenance(row: ModelVersion): Promise<SegmenterProvenance> {
    const id = row.id;
    const lineage: string[] = [];
    const seen = new Set([id]);
    for (let parent = row.parentId; parent && !seen.has(parent); ) {
      seen.add(parent);
      lineage.push(parent);
      parent = (await this.db.prisma.modelVersion.findUnique({ where: { id: parent }, select: { parentId: true } }))?.parentId ?? null;
    }
    const roster = await this.db.prisma.rosterClass.findMany({ where: { id: { lt: row.numClasses } }, orderBy: { id: 'asc' } });
    const classes: ModelClass[] = roster.map((c) => ({ id: c.id, name: c.name, color: c.color }));
    const missing = Array.from({ length: row.numClasses }, (_, i) => i).filter((i) => classes[i]?.id !== i);
    if (missing.length) throw new Error(`model version ${quote(id)} predicts ${row.numClasses} classes but the roster has no class ${missing.join(', ')}`);
    return {
      classes,
      version: row.id,
      lineage,
      federation: this.federation(),
      step: row.stepIndex,
      round: row.roundId,
      createdAt: row.createdAt.toISOString(),
      exportedAt: new Date(this.clock.now()).toISOString(),
      weightsSha256: row.sha256,
    };
  }

  /** The federation's certificate authority names it; a loopback demo has none. */
  private federation(): string {
    const path = join(this.config.pkiDir, CA_CERT_FILE);
    if (!existsSync(path)) return 'insecure demo federation (no certificate authority)';
    const ca = new X509Certificate(readFileSync(path));
    const cn = /CN=([^\n,]+)/.exec(ca.subject)?.[1] ?? 'federation CA';
    return `${cn} (CA SHA-256 ${ca.fingerprint256})`;
  }
}
