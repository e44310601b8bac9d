import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addNoise, ddimSigma, ddimStep, ddimTimesteps, noiseSchedule } from './schedule';

const close = (a: number, b: number, tol = 1e-6, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} != ${b}`);

test('linear schedule: betas evenly spaced, alphas cumprod by hand', () => {
  const s = noiseSchedule({ kind: 'linear', timesteps: 4, betaStart: 0.1, betaEnd: 0.4 });
  [0.1, 0.2, 0.3, 0.4].forEach((b, i) => close(s.betas[i], b, 1e-12, `beta ${i}`));
  // 0.9, 0.9*0.8, 0.9*0.8*0.7, 0.9*0.8*0.7*0.6
  [0.9, 0.72, 0.504, 0.3024].forEach((a, i) => close(s.alphasCumprod[i], a, 1e-12, `abar ${i}`));
  const d = noiseSchedule({ kind: 'linear' });
  assert.equal(d.timesteps, 1000);
  close(d.betas[0], 1e-4, 1e-12);
  close(d.betas[999], 0.02, 1e-12);
});

test('cosine schedule: abar_t = f(t+1)/f(0) with f(t) = cos^2(((t/T + s)/(1 + s)) pi/2), betas clipped at 0.999', () => {
  // s = 0, T = 2: f = 1, 1/2, 0 -> betas 0.5, min(1, 0.999); abar 0.5, 0.0005
  const s0 = noiseSchedule({ kind: 'cosine', timesteps: 2, cosineOffset: 0 });
  close(s0.betas[0], 0.5, 1e-12);
  close(s0.betas[1], 0.999, 1e-12);
  close(s0.alphasCumprod[1], 0.0005, 1e-12);
  const c = noiseSchedule({ kind: 'cosine' });
  close(c.alphasCumprod[0], 0.999958715775178, 1e-12, 'abar_0');
  const f = (t: number) => Math.cos(((t / 1000 + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
  close(c.alphasCumprod[499], f(500) / f(0), 1e-12, 'abar_499');
  close(c.betas[999], 0.999, 1e-12, 'last beta clipped');
  for (let t = 1; t < 1000; t++) assert.ok(c.alphasCumprod[t] < c.alphasCumprod[t - 1]);
});

test('DDIM timesteps are evenly spaced from the noisiest down to 0', () => {
  assert.deepEqual(ddimTimesteps(1000, 4), [750, 500, 250, 0]);
  assert.deepEqual(ddimTimesteps(10, 3), [6, 3, 0]);
  assert.equal(ddimTimesteps(1000, 1000).length, 1000);
  assert.throws(() => ddimTimesteps(10, 11), /steps/);
  assert.deepEqual(ddimTimesteps(1000, 4, 'trailing'), [999, 749, 499, 249]);
  assert.deepEqual(ddimTimesteps(10, 3, 'trailing'), [9, 6, 2]);
  assert.equal(ddimTimesteps(1000, 1000, 'trailing').at(-1), 0);
});

test('the DDIM update matches hand-computed values (eta 0, eta 1, eta 0.5, clipping)', () => {
  const x = Float32Array.of(0.5);
  const eps = Float32Array.of(0.2);
  // x0 = (0.5 - 0.6 * 0.2) / 0.8 = 0.475; x_prev = 0.9 * 0.475 + sqrt(0.19) * 0.2
  close(ddimStep(x, eps, 0.64, 0.81)[0], 0.5146779788708135, 1e-6, 'eta 0');
  // sigma = sqrt(0.19 / 0.36) * sqrt(1 - 0.64 / 0.81)
  close(ddimSigma(0.64, 0.81, 1), 0.33281853251132276, 1e-12, 'sigma');
  close(ddimStep(x, eps, 0.64, 0.81, { eta: 1, noise: Float32Array.of(1) })[0], 0.816614828807619, 1e-6, 'eta 1');
  close(ddimStep(x, eps, 0.64, 0.81, { eta: 0.5, noise: Float32Array.of(-0.5) })[0], 0.424870290044147, 1e-6, 'eta 0.5');
  // x0 = (1 + sqrt(0.75)) / 0.5 = 3.73 is clipped to 1; going to abar = 1 returns x0
  close(ddimStep(Float32Array.of(1), Float32Array.of(-1), 0.25, 1)[0], 1, 1e-6, 'clip');
  close(ddimStep(Float32Array.of(1), Float32Array.of(-1), 0.25, 1, { clip: 0 })[0], 3.7320508, 1e-5, 'no clip');
  assert.throws(() => ddimStep(x, eps, 0.64, 0.81, { eta: 1 }), /noise/);
});

test('eta = 1 gives the DDPM posterior variance; the true noise takes x_t back to x0', () => {
  const s = noiseSchedule({ kind: 'linear' });
  for (const t of [1, 10, 500, 999]) {
    const ab = s.alphasCumprod[t];
    const abPrev = s.alphasCumprod[t - 1];
    const posterior = ((1 - abPrev) / (1 - ab)) * s.betas[t];
    close(ddimSigma(ab, abPrev, 1) ** 2, posterior, 1e-12, `t=${t}`);
  }
  const x0 = Float32Array.of(-0.9, -0.2, 0, 0.4, 0.95);
  const eps = Float32Array.of(1.5, -0.3, 0.7, -2, 0.1);
  const xt = addNoise(x0, eps, 0.3);
  const back = ddimStep(xt, eps, 0.3, 1);
  x0.forEach((v, i) => close(back[i], v, 1e-5, `x0[${i}]`));
});
