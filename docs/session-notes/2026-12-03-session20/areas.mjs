// Share of pixels per structure in the multilabel (fully annotated) images, by surgery group.
import sharp from 'sharp';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
const root = process.argv[2];
const groups = JSON.parse(process.argv[3]);
const out = {};
for (const [name, surgeries] of Object.entries(groups)) {
  const sums = {}; let total = 0;
  for (const s of surgeries) {
    const dir = join(root, 'multilabel', s);
    let files; try { files = readdirSync(dir); } catch { continue; }
    for (const f of files.filter((f) => f.startsWith('mask'))) {
      const struct = f.replace(/^mask\d+_/, '').replace('.png', '');
      const { data } = await sharp(join(dir, f)).raw().toBuffer({ resolveWithObject: true });
      let on = 0; for (let i = 0; i < data.length; i++) if (data[i] > 127) on++;
      sums[struct] = (sums[struct] ?? 0) + on;
      if (struct === 'liver') total += data.length;
    }
  }
  out[name] = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k.slice(0, 10), +(100 * v / total).toFixed(1)]));
}
console.log(JSON.stringify(out, null, 0));
