// The agent's client against a coordinator address that takes connections and answers nothing (a
// host gone silent, or a connection attempt that hangs after a coordinator moved): grpc-js keeps
// such an attempt CONNECTING for as long as TCP lets it, so the client itself must give up on it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { CoordinatorClient } from './coordinator-client';
import { OutboundAudit } from './outbound-audit';
import { silentHost } from '../testing';

test('a call that waited its deadline for a connection makes the next attempt on a fresh connection', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'silent-coordinator-'));
  const silent = await silentHost();
  const deadlineMs = 400;
  const client = new CoordinatorClient(
    { address: silent.address, credentials: grpc.credentials.createInsecure(), insecureSiteId: 'site-x', deadlineMs },
    new OutboundAudit(join(dir, 'outbound.jsonl')),
    { initialMs: 20, maxMs: 40, giveUpAfterMs: 3 * deadlineMs },
  );
  try {
    await assert.rejects(client.heartbeat('idle'), (e: grpc.ServiceError) => e.code === grpc.status.DEADLINE_EXCEEDED);
    // Three attempts fit the give-up time: each after the first on a connection of its own.
    assert.ok(silent.connections() >= 3, `${silent.connections()} connections for 3 or more attempts (one connection: every attempt waited on the first, hung one)`);
  } finally {
    client.close();
    silent.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
