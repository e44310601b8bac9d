// The site agent's metrics port, scraped from a real `site-agent run` process while it takes part
// in a one-site federation (loopback plaintext, one segmenter round, no generator): the step, the
// training losses, the training throughput, the bytes it uploaded and the update's outcome.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Federation } from '../harness/federation';
import { tinyFederation } from '../harness/tiny';

function samples(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe('site agent: Prometheus metrics on its local port', { timeout: 300_000 }, () => {
  const workDir = mkdtempSync(join(tmpdir(), 'e2e-agent-metrics-'));
  let fed: Federation;
  let url = '';

  before(async () => {
    fed = new Federation(tinyFederation(workDir, {
      sites: 1, tls: false, steps: 1,
      coordinatorFlags: ['--quorum', '1', '--segmenter-rounds', '1', '--generator-rounds', '0', '--deadline', '240', '--tick-ms', '200', '--heartbeat-timeout', '8'],
    }));
    await fed.prepareSites();
    await fed.startCoordinator();
    await fed.enrollSites();
    const agent = fed.startSite(fed.sites[0]!, ['--metrics-port', '0']);
    url = (JSON.parse(await agent.waitFor(/metrics served/, 60_000)) as { url: string }).url;
    await fed.waitForSitesAlive();
  });

  after(async () => {
    await fed?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  test('step, losses, images/s, upload bytes and the accepted update', async () => {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/, 'loopback only by default');
    const idle = await (await fetch(url)).text();
    assert.equal(samples(idle, 'fedciss_agent_upload_bytes_total').get('fedciss_agent_upload_bytes_total'), 0);

    assert.equal(await fed.addClasses(['liver', 'stomach']), 0);
    await fed.waitForStep(0, 200_000);
    const res = await fetch(url);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.equal(samples(text, 'fedciss_agent_step').get('fedciss_agent_step'), 0);
    assert.equal(samples(text, 'fedciss_agent_updates_total').get('fedciss_agent_updates_total{outcome="accepted"}'), 1);
    const uploaded = samples(text, 'fedciss_agent_upload_bytes_total').get('fedciss_agent_upload_bytes_total')!;
    // the one update is a safetensors file of the tiny segmenter: tens of kilobytes
    assert.ok(uploaded > 10_000, `uploaded ${uploaded} bytes`);
    const speed = samples(text, 'fedciss_agent_images_per_second').get('fedciss_agent_images_per_second{kind="segmenter"}')!;
    assert.ok(speed > 0 && Number.isFinite(speed), `images/s ${speed}`);
    const losses = [...samples(text, 'fedciss_agent_loss{').entries()].filter(([k]) => k.includes('phase="train"'));
    assert.ok(losses.length > 0, 'training losses are exposed');
    for (const [k, v] of losses) assert.ok(Number.isFinite(v), `${k} = ${v}`);
    assert.equal((await fetch(url.replace('/metrics', '/other'))).status, 404);
  });
});
