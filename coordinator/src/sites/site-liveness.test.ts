// SitesService's two per-call paths on the embedded database: heartbeats arriving together are
// written in one statement, each site's own time and state; and a remembered approval never
// outlives a revocation made here.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../testing/security-harness';
import { DatabaseService } from '../database/database.service';
import { SitesService } from './sites.service';

let h: Harness;
const sites = () => h.coordinator.app.get(SitesService);
const prisma = () => h.coordinator.app.get(DatabaseService).prisma;

before(async () => {
  h = await startHarness();
  await prisma().site.createMany({ data: ['s1', 's2', 's3'].map((id) => ({ id, displayName: `Hospital ${id}`, status: 'approved' })) });
});
after(async () => h?.close());

test('heartbeats arriving together are written, each with its own site, time and state', async () => {
  const t0 = Date.now();
  await Promise.all([sites().heartbeat('s1', 'training'), sites().heartbeat('s2', 'idle'), sites().heartbeat('s1', 'uploading'), sites().heartbeat('s3', 'x'.repeat(300))]);
  const rows = await prisma().site.findMany({ orderBy: { id: 'asc' } });
  assert.deepEqual(rows.map((r) => r.agentState), ['uploading', 'idle', 'x'.repeat(200)], 'the latest state of each site, at most 200 characters');
  for (const r of rows) {
    const at = r.lastHeartbeatAt!.getTime();
    assert.ok(at >= t0 - 5 && at <= Date.now() + 5, `${r.id}: heartbeat at ${r.lastHeartbeatAt?.toISOString()}`);
  }
  assert.ok(rows.every((r) => sites().isAlive(r)));
});

test('an approval read once is not trusted after this coordinator revokes the site', async () => {
  await sites().requireActive('s2');
  await sites().revoke('test-operator', 's2');
  await assert.rejects(sites().requireActive('s2'), /s2.*is revoked/);
  await sites().requireActive('s1');
  await assert.rejects(sites().requireActive('nobody'), /not enrolled/);
  assert.equal(sites().activeSites(), 1, 'the sites seen approved and not revoked since: s1');
});
