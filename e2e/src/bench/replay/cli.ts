/** Command-line options of `npm run bench:replay`. Pure functions. */
import { diffusion, type DiffusionConfig } from '@fedciss/ml';
import { BenchUserError, numberInRange, oneOf, positiveIntegers, positiveNumber } from '@fedciss/ml/bench';

export interface ReplayBenchOptions {
  quick: boolean;
  json?: string;
  /** Where the PNG grid of labelled samples goes (default next to the JSON, or .data/bench-replay). */
  grid?: string;
  /** Working folder: the generated dataset and the cached teacher. */
  out: string;
  /** Generator seeds: each trains, samples and is scored on its own (mean ± sd reported; default 3). */
  seeds: number;
  /** The first generator seed (seeds run firstSeed .. firstSeed + seeds - 1); default 1. */
  firstSeed: number;
  /** Teacher pixels below this confidence teach nothing (default 0.7, the replay sets' threshold). */
  confidence: number;
  /** Wall-clock budget of the generator's training, seconds (default: the recipe's for the mode). */
  generatorSeconds?: number;
  /** A fixed number of generator steps instead of the time budget (comparable runs on a loaded machine). */
  generatorSteps?: number;
  /** Also score the generator after these step counts of the same run (a learning curve; needs
   * --generator-steps, which is the last point). */
  evalAt: number[];
  /** DDIM steps and eta of the sampler (default: the recipe's). */
  samplingSteps?: number;
  eta?: number;
  /** Clip of the sampler's predicted x0 (default 1; 0 = off). */
  clip?: number;
  /** DDIM timestep spacing (default the sampler's, 'leading'). */
  spacing?: diffusion.DdimSpacing;
  /** Save the trained generator (config and EMA weights, safetensors) to this file. */
  saveGenerator?: string;
  /** Score saved generators instead of training them (sampling variants): one file for every
   * seed, or one file per seed (seed firstSeed + i scores file i). */
  loadGenerator?: string[];
  /** What the student learns from the teacher: its soft outputs (default: what a site's replay
   * training uses through its kd term) or hard confident labels. */
  labels: 'hard' | 'soft';
  /** Seeds of the noise floor and the real ceiling (default 3; mean ± sd over them). With the
   * untrained floor each seed is its own untrained generator and its own student. */
  floorSeeds: number;
  /** The floor's noise: gaussian around mid-grey, palette (pixels of the real training images
   * shuffled: their colours, no shape), or untrained (the generator's samples with fresh weights:
   * what sites compare against; the default). */
  floor: 'gaussian' | 'palette' | 'untrained';
  /** Generated images the student learns from (default: the mode's). */
  images?: number;
  /** Sample this many images, let the teacher label them, and keep --images of them balanced over
   * the classes the teacher sees (ml replay/balance.ts); default --images x REPLAY_POOL_FACTOR, as
   * sites' replay sets; --images itself: no choice. */
  pool?: number;
  /** Students per generator, by seed (each generator scored by each; the floor's students are
   * seeds 1..--floor-seeds, so 1,2,3 pairs each generator with the floor student by student);
   * default: one student whose seed is the generator's. */
  studentSeeds?: number[];
  /** Generator architecture and training replaced from the command line (JSON objects). */
  generator: Partial<DiffusionConfig>;
  generatorTraining: Partial<diffusion.GeneratorTraining>;
  /** Also score teacher-labelled noise and teacher-labelled real images (fidelity floor and ceiling). */
  baselines: boolean;
  /** Also the student of teacher-labelled REAL training images (the ceiling). Off by default: the
   * teacher learnt those very images, so with soft labels its outputs there are near-copies of the
   * ground truth, not how it labels unseen images (session 3 measured it below the generator). */
  ceiling: boolean;
  help: boolean;
}

export const USAGE = `npm run bench:replay -- [options]
  --quick               the quick profile (fewer images, shorter budgets)
  --json FILE           write the results as JSON (also printed on stdout)
  --grid FILE           PNG grid of generated samples with the teacher's labels (default: next to
                        the JSON, else OUT/samples.png)
  --out DIR             working folder: dataset and cached teacher (default .data/bench-replay)
  --seeds N             generator seeds, each trained, sampled and scored on its own (default 3)
  --first-seed K        start at seed K (to split seeds over runs; default 1)
  --confidence C        teacher pixels below this confidence teach nothing (default 0.7, as replay sets)
  --generator-seconds S wall-clock budget of the generator's training instead of a step count
  --generator-steps N   generator training steps (default: the profile's, quick 3000: comparable
                        on a loaded machine)
  --eval-at N,M,...     also score the generator after N, M, ... steps of the same run (with
                        --generator-steps, the last point): a learning curve per seed
  --sampling-steps N    DDIM steps of the sampler (default: the recipe's)
  --eta E               DDIM eta in [0, 1] (default: the recipe's)
  --clip C              clip of the sampler's predicted x0 (default 1, 0 = off)
  --spacing S           DDIM timesteps: leading (default) or trailing (starts at T - 1)
  --save-generator FILE save the trained generator (config + EMA weights) as safetensors
  --load-generator F[,F2,...]  score saved generators instead of training (sampling variants):
                        one file for every seed, or one per seed (as --save-generator names them)
  --labels soft|hard    the student distils the teacher's soft outputs on every pixel (soft, the
                        default: as sites' replay does) or learns its confident argmax (hard)
  --floor-seeds N       seeds of the floor and the real ceiling (default 3)
  --floor KIND          the floor: untrained (default: samples of the generator with fresh weights,
                        one generator per floor seed: what sites compare against), gaussian (noise
                        around mid-grey) or palette (real pixels shuffled: the real colours, no shape)
  --images N            generated images the student learns from
  --pool N              sample N images, keep --images of them balanced over the classes the
                        teacher labels in them (default 4 x --images, as sites' replay sets; the
                        untrained floor is chosen the same way; N = --images: no choice)
  --student-seeds A,B   score each generator with students of these seeds (default: one student,
                        seeded as the generator)
  --generator JSON      generator config fields, e.g. '{"baseChannels":32}'
  --training JSON       generator training fields, e.g. '{"learningRate":1e-3,"lossWeighting":"uniform"}'
  --ceiling             also the student of teacher-labelled real training images (ceiling)
  --no-baselines        skip the floor (and ceiling) students`;

function json<T>(flag: string, raw: string): T {
  try {
    const v = JSON.parse(raw) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as T;
  } catch (e) {
    throw new BenchUserError(`${flag}: expected a JSON object (${(e as Error).message})`);
  }
}

export function parseArgs(argv: readonly string[]): ReplayBenchOptions {
  const o: ReplayBenchOptions = { quick: false, out: '.data/bench-replay', seeds: 3, firstSeed: 1, confidence: 0.7, generator: {}, generatorTraining: {}, baselines: true, ceiling: false, help: false, evalAt: [], labels: 'soft', floorSeeds: 3, floor: 'untrained' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const take = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new BenchUserError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--quick': o.quick = true; break;
      case '--json': o.json = take(); break;
      case '--grid': o.grid = take(); break;
      case '--out': o.out = take(); break;
      case '--seeds': o.seeds = positiveNumber(flag, take(), true); break;
      case '--first-seed': o.firstSeed = positiveNumber(flag, take(), true); break;
      case '--confidence': o.confidence = numberInRange(flag, take(), 0, 1, true); break;
      case '--generator-seconds': o.generatorSeconds = positiveNumber(flag, take()); break;
      case '--generator-steps': o.generatorSteps = positiveNumber(flag, take(), true); break;
      case '--eval-at': o.evalAt = positiveIntegers(flag, take()); break;
      case '--sampling-steps': o.samplingSteps = positiveNumber(flag, take(), true); break;
      case '--eta': o.eta = numberInRange(flag, take(), 0, 1); break;
      case '--clip': o.clip = numberInRange(flag, take(), 0); break;
      case '--spacing': o.spacing = oneOf(flag, take(), ['leading', 'trailing'] as const); break;
      case '--save-generator': o.saveGenerator = take(); break;
      case '--load-generator': o.loadGenerator = take().split(','); break;
      case '--labels': o.labels = oneOf(flag, take(), ['hard', 'soft'] as const); break;
      case '--floor-seeds': o.floorSeeds = positiveNumber(flag, take(), true); break;
      case '--floor': o.floor = oneOf(flag, take(), ['gaussian', 'palette', 'untrained'] as const); break;
      case '--images': o.images = positiveNumber(flag, take(), true); break;
      case '--pool': o.pool = positiveNumber(flag, take(), true); break;
      case '--student-seeds': o.studentSeeds = positiveIntegers(flag, take()); break;
      case '--generator': o.generator = json(flag, take()); break;
      case '--training': o.generatorTraining = json(flag, take()); break;
      case '--no-baselines': o.baselines = false; break;
      case '--ceiling': o.ceiling = true; break;
      case '--help': case '-h': o.help = true; break;
      default: throw new BenchUserError(`unknown option '${a}'\n${USAGE}`);
    }
  }
  if (o.loadGenerator && (o.saveGenerator || o.evalAt.length || o.generatorSteps || o.generatorSeconds)) throw new BenchUserError('--load-generator scores a saved generator: it takes no --save-generator, --eval-at, --generator-steps or --generator-seconds');
  if (o.loadGenerator && o.loadGenerator.length > 1 && o.loadGenerator.length !== o.seeds) throw new BenchUserError(`--load-generator: ${o.loadGenerator.length} files for --seeds ${o.seeds}; give one file or one per seed`);
  if (o.pool !== undefined && o.images !== undefined && o.pool < o.images) throw new BenchUserError(`--pool ${o.pool} is smaller than --images ${o.images}`);
  if (o.generatorSteps && o.generatorSeconds) throw new BenchUserError('--generator-steps and --generator-seconds: give one budget');
  if (o.evalAt.length && !o.generatorSteps) throw new BenchUserError('--eval-at needs --generator-steps (the curve\'s last point)');
  if (o.evalAt.some((n) => o.generatorSteps !== undefined && n >= o.generatorSteps)) throw new BenchUserError(`--eval-at: every point must be below --generator-steps ${o.generatorSteps}`);
  return o;
}
