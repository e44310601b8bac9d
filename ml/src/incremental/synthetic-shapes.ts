/** Tiny synthetic scenes for tests and benchmarks of the incremental recipe: coloured shapes on a
 * noisy textured background. Class 1 = red disc, 2 = green bar, 3 = blue square, 4 = yellow ring. */
import { seededRandom } from '../init/initializers';
import type { SegSample } from './samples';

const COLOURS: Record<number, [number, number, number]> = { 1: [0.9, 0.15, 0.15], 2: [0.15, 0.8, 0.2], 3: [0.2, 0.3, 0.95], 4: [0.9, 0.85, 0.1] };

export interface ShapeSceneOptions {
  readonly size: number;
  /** Classes drawn (each with probability `presence`, the first always). */
  readonly draw: readonly number[];
  /** Classes written into the label map; other drawn shapes stay background (0). */
  readonly annotate: readonly number[];
  readonly presence?: number;
  readonly seed: number;
}

export function shapeScenes(n: number, o: ShapeSceneOptions): SegSample[] {
  const rand = seededRandom(o.seed);
  const S = o.size;
  const out: SegSample[] = [];
  for (let k = 0; k < n; k++) {
    const image = new Float32Array(3 * S * S);
    const label = new Uint8Array(S * S);
    const tint = [0.45 + 0.1 * rand(), 0.35 + 0.1 * rand(), 0.35 + 0.1 * rand()];
    for (let p = 0; p < S * S; p++) {
      const tex = 0.08 * Math.sin((p % S) * 0.7 + rand()) + 0.12 * (rand() - 0.5);
      for (let ch = 0; ch < 3; ch++) image[ch * S * S + p] = tint[ch] + tex;
    }
    o.draw.forEach((cls, j) => {
      if (j > 0 && rand() > (o.presence ?? 0.7)) return;
      const r = S * (0.12 + 0.08 * rand());
      const cx = r + rand() * (S - 2 * r);
      const cy = r + rand() * (S - 2 * r);
      const inside = (x: number, y: number) => {
        const dx = x - cx;
        const dy = y - cy;
        if (cls === 1) return dx * dx + dy * dy <= r * r;
        if (cls === 2) return Math.abs(dy) <= r * 0.45 && Math.abs(dx) <= r * 1.6;
        if (cls === 3) return Math.abs(dx) <= r * 0.9 && Math.abs(dy) <= r * 0.9;
        const d = Math.sqrt(dx * dx + dy * dy);
        return d <= r && d >= r * 0.55;
      };
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          if (!inside(x + 0.5, y + 0.5)) continue;
          const p = y * S + x;
          for (let ch = 0; ch < 3; ch++) image[ch * S * S + p] = Math.min(1, Math.max(0, COLOURS[cls][ch] + 0.1 * (rand() - 0.5)));
          label[p] = o.annotate.includes(cls) ? cls : 0;
        }
      }
    });
    out.push({ image, label, height: S, width: S });
  }
  return out;
}
