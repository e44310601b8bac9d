/**
 * Checks that the coordinator's database and model store agree with each other and with what a
 * finished federation must hold. Reads the database directly (PostgreSQL), not through the API.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { decodeSafetensors } from '@fedciss/ml';

export interface ConsistencyReport {
  problems: string[];
  counts: Record<string, number>;
}

export async function checkConsistency(databaseUrl: string, coordinatorDataDir: string): Promise<ConsistencyReport> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  const problems: string[] = [];
  const blob = (sha: string) => join(coordinatorDataDir, 'models', 'sha256', sha.slice(0, 2), sha);
  try {
    const q = async <T>(sql: string) => (await db.query(sql)).rows as T[];
    const versions = await q<{ id: string; sha256: string; parent_id: string | null }>('SELECT id, sha256, parent_id FROM model_versions');
    const ids = new Set(versions.map((v) => v.id));
    for (const v of versions) {
      const file = blob(v.sha256);
      if (!existsSync(file)) problems.push(`model version ${v.id}: blob ${v.sha256} missing from the model store`);
      else if (createHash('sha256').update(readFileSync(file)).digest('hex') !== v.sha256) problems.push(`model version ${v.id}: blob does not match its hash`);
      if (v.parent_id && !ids.has(v.parent_id)) problems.push(`model version ${v.id}: parent ${v.parent_id} does not exist`);
    }
    const rounds = await q<{ id: string; kind: string; status: string; result_version_id: string | null; state: { phase: string } }>('SELECT id, kind, status, result_version_id, state FROM rounds');
    for (const r of rounds) {
      if (r.state.phase !== r.status && !(r.status === 'collecting' && r.state.phase === 'collecting')) problems.push(`round ${r.id}: status ${r.status} but state machine phase ${r.state.phase}`);
      if (r.status === 'completed' && r.kind !== 'evaluate' && !(r.result_version_id && ids.has(r.result_version_id))) problems.push(`round ${r.id}: completed without an existing result version`);
    }
    const accepted = await q<{ id: string; sha256: string; storage_uri: string | null }>("SELECT id, sha256, storage_uri FROM site_updates WHERE status = 'accepted'");
    for (const u of accepted) if (u.storage_uri !== `sha256:${u.sha256}` || !existsSync(blob(u.sha256))) problems.push(`accepted update ${u.id}: bytes missing from the model store`);
    const unfinished = await q<{ index: number; status: string }>("SELECT index, status FROM steps WHERE status <> 'completed'");
    const open = await q<{ id: string }>("SELECT id FROM rounds WHERE status IN ('collecting', 'aggregating')");
    if (!unfinished.length && open.length) problems.push(`every step is complete but rounds ${open.map((r) => r.id).join(', ')} are still open`);
    const count = async (table: string, where = 'true') => Number((await q<{ n: string }>(`SELECT count(*)::text AS n FROM ${table} WHERE ${where}`))[0].n);
    return {
      problems,
      counts: {
        modelVersions: versions.length,
        rounds: rounds.length,
        completedRounds: rounds.filter((r) => r.status === 'completed').length,
        failedRounds: rounds.filter((r) => r.status === 'failed').length,
        acceptedUpdates: accepted.length,
        rejectedUpdates: await count('site_updates', "status = 'rejected'"),
        evaluations: await count('evaluations'),
        steps: await count('steps', "status = 'completed'"),
        rosterClasses: await count('roster_classes'),
        auditEntries: await count('audit_log'),
      },
    };
  } finally {
    await db.end();
  }
}

/**
 * Every accepted upload, decoded: a safetensors file whose tensors are exactly those of the model
 * version the round trained from (same names, same shapes), so an update cannot carry anything else.
 */
export async function checkUploadContents(databaseUrl: string, coordinatorDataDir: string): Promise<{ checked: number; problems: string[] }> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  const problems: string[] = [];
  const read = (sha: string) => decodeSafetensors(readFileSync(join(coordinatorDataDir, 'models', 'sha256', sha.slice(0, 2), sha))).tensors;
  try {
    const rows = (await db.query(`SELECT u.id, u.sha256, v.sha256 AS base FROM site_updates u JOIN rounds r ON r.id = u.round_id JOIN model_versions v ON v.id = r.base_version_id WHERE u.status = 'accepted'`)).rows as Array<{ id: string; sha256: string; base: string }>;
    for (const r of rows) {
      const update = read(r.sha256);
      const base = read(r.base);
      const shape = (m: Map<string, { shape: readonly number[] }>) => JSON.stringify([...m].map(([k, t]) => [k, t.shape]).sort());
      if (shape(update) !== shape(base)) problems.push(`update ${r.id}: tensors differ from the model it was trained from`);
    }
    return { checked: rows.length, problems };
  } finally {
    await db.end();
  }
}
