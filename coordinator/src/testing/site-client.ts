/**
 * A bare gRPC client speaking the federation contract, for coordinator tests that play the part of
 * sites (the real site agent lives in site-agent/ and is exercised by e2e/).
 */
import * as grpc from '@grpc/grpc-js';
import {
  BlobAssembler, chunkBlob, FederationClient, sha256Hex,
  type BlobChunk, type Capabilities, type EvaluationReport, type Task, type UploadHeader, type UploadMessage, type UploadReceipt, type UploadStatus, type WithheldUpdate,
} from '@fedciss/proto';

import { INVITATION_METADATA_KEY } from '../sites/invitation-token';

const DEADLINE_MS = 30_000;

function unary<Req, Res>(fn: (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: Res) => void) => unknown, req: Req, md: grpc.Metadata): Promise<Res> {
  return new Promise((resolve, reject) => fn(req, md, { deadline: Date.now() + DEADLINE_MS }, (e, r) => (e ? reject(e) : resolve(r!))));
}

export class TestSiteClient {
  readonly client: FederationClient;
  siteId = '';

  constructor(address: string, credentials = grpc.credentials.createInsecure()) {
    this.client = new FederationClient(address, credentials);
  }

  private md(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.siteId) md.set('x-site-id', this.siteId);
    return md;
  }

  /** `invitationToken` travels as the Enroll call's invitation metadata, as site-agent enroll --bundle sends it. */
  async enroll(displayName: string, csrPem = '', options: { capabilities?: Capabilities; invitationToken?: string } = {}) {
    const md = this.md();
    if (options.invitationToken !== undefined) md.set(INVITATION_METADATA_KEY, options.invitationToken);
    const capabilities = options.capabilities ?? { executionProviders: ['cpu'], agentVersion: 'test' };
    const r = await unary(this.client.enroll.bind(this.client), { displayName, csrPem, capabilities }, md);
    this.siteId = r.siteId;
    return r;
  }

  heartbeat(state = 'idle') {
    return unary(this.client.heartbeat.bind(this.client), { state }, this.md());
  }

  getTask(): Promise<Task> {
    // holdMs 0: answered at once (the tests drive rounds by hand and expect a WAIT as it stands).
    return unary(this.client.getTask.bind(this.client), { holdMs: 0 }, this.md());
  }

  reportEvaluation(report: EvaluationReport) {
    return unary(this.client.reportEvaluation.bind(this.client), report, this.md());
  }

  reportWithheld(report: WithheldUpdate) {
    return unary(this.client.reportWithheld.bind(this.client), report, this.md());
  }

  uploadStatus(idempotencyKey: string): Promise<UploadStatus> {
    return unary(this.client.getUploadStatus.bind(this.client), { idempotencyKey }, this.md());
  }

  async download(versionId: string): Promise<Buffer> {
    const stream = this.client.downloadModel({ versionId, offset: 0 }, this.md(), { deadline: Date.now() + DEADLINE_MS });
    let assembler: BlobAssembler | undefined;
    for await (const m of stream as AsyncIterable<BlobChunk>) {
      if (m.header) assembler = await BlobAssembler.open(m.header.totalBytes, m.header.sha256, 1 << 30);
      else if (m.chunk) await assembler!.add(m.chunk);
    }
    return assembler!.finish();
  }

  /** Uploads `blob` from `offset`; `corruptChunk` flips a byte of that chunk index (to test refusals). */
  upload(header: Omit<UploadHeader, 'totalBytes' | 'sha256' | 'resumeOffset'>, blob: Buffer, options: { offset?: number; chunkBytes?: number; corruptChunk?: number; onlyChunks?: number } = {}): Promise<UploadReceipt> {
    return new Promise((resolve, reject) => {
      const call = this.client.uploadUpdate(this.md(), { deadline: Date.now() + DEADLINE_MS }, (e, r) => (e ? reject(e) : resolve(r!)));
      const offset = options.offset ?? 0;
      const first: UploadMessage = { header: { ...header, totalBytes: blob.length, sha256: sha256Hex(blob), resumeOffset: offset } };
      call.write(first);
      let i = 0;
      for (const chunk of chunkBlob(blob, options.chunkBytes ?? 64 * 1024, offset)) {
        if (options.onlyChunks !== undefined && i >= options.onlyChunks) break;
        const data = Buffer.from(chunk.data);
        if (i === options.corruptChunk) data[0] ^= 0xff;
        call.write({ chunk: { ...chunk, data } });
        i++;
      }
      call.end();
    });
  }

  close(): void {
    this.client.close();
  }
}
