/** Command-line options of `npm run bench:ciss`. Pure functions. */
import { BenchUserError, oneOf, positiveNumber } from '@fedciss/ml/bench';
import { METHODS } from './methods';
import { parseEpsilons } from './dp';
import { SCENES, type Scenes } from './settings';

export interface BenchOptions {
  setting: string;
  /** Whether a step's training images show the earlier steps' structures (settings.ts SCENES). */
  scenes: Scenes;
  quick: boolean;
  methods: string[];
  sites?: number;
  json?: string;
  markdown?: string;
  /** Working folder (data, coordinator and site folders, logs); default a fresh temporary folder. */
  out?: string;
  /** Each seed: its own generated data, step-0 model and training seeds; figures are means ± sd over them. */
  seeds: number[];
  verbose: boolean;
  /** Keep the working folder afterwards (always kept when a method failed). */
  keep: boolean;
  help: boolean;
  /** Pin each site agent to its own cores (default true; --no-pin). */
  pin: boolean;
  /** Working folder of an earlier run whose step-0 models (seed-N/runs/step0/*.safetensors) this run
   * imports instead of training its own: more methods against the same starting points. */
  reuseStep0?: string;
  /** Profile fields replaced from the command line (--set KEY=JSON, KEY a dotted path), e.g.
   * localEpochs=4, training.warmupFraction=0.2 (overrides.ts). */
  overrides: Record<string, unknown>;
  /** "ours" again with differential privacy at each of these ε (dp.ts), clipping to dpClip. */
  dpEpsilons: number[];
  dpClip: number;
}

export const USAGE = `npm run bench:ciss -- [options]
  --setting S      X-Y (6-5, 6-1, 11-0: X classes of the DSAD order first, then Y per step) or
                   explicit steps "liver,stomach;ureter" (';' between steps). Default 6-5.
  --scenes K       disjoint (default): a step's training images never show the earlier steps'
                   structures, so only distillation and replay keep the old classes (test images
                   show everything); overlapped: they may, unlabelled (as in DSAD), and every
                   distillation method keeps the old classes within the seeds' spread
  --quick          small profile (2 sites, 64x80 scenes; ~13 min a seed on 2 idle cores for 6-5 and
                   finetune, mib, ours, joint). Without it, the default profile (2 sites, 160x128
                   scenes, the network and its generator at 64x80; ~40 min a seed for the same)
  --methods a,b    subset of: ${METHODS.map((m) => m.id).join(', ')} (default all)
  --sites K        number of sites (default: the profile's)
  --json FILE      write the results as JSON
  --markdown FILE  write the tables as Markdown
  --out DIR        working folder (default: a fresh folder under the system's temp folder)
  --seeds 1,2,3    seeds (default 1,2,3): each has its own data, shared step-0 model and training
                   seeds; tables give mean ± sd over them
  --seed N         one seed only (same as --seeds N)
  --keep           keep the working folder
  --reuse-step0 D  import the step-0 models of an earlier run's working folder D (same setting,
                   profile) instead of training step 0 again, with the figures that run kept
                   beside them (the step-0 row, the forgetting gate); seeds D lacks train their own
  --set KEY=JSON   replace a field of the profile, or one inside it by a dotted path, e.g.
                   --set localEpochs=4   --set segmenter.width=8
                   --set 'segmenter={"width":8,"depth":2,"inputSize":[32,40],"embedDim":8,"groups":4}'
                   Below "training", the coordinator's training settings (training.json keys)
                   laid over every method's own: --set training.warmupFraction=0.2
                   --set training.replayFraction=0.125   --set training.lossWeights.kd=5
                   A generator pretrained on public scenes (npm run pretrain:generator -- --for
                   ciss-quick --out F) for step 0's generator rounds to fine-tune:
                   --set generatorStart='"F"' --set generatorTraining.learningRate=2e-4
  --dp-epsilon 8,1 also run "ours" with site-level differential privacy at each target ε (noise
                   multiplier calibrated by the coordinator's accountant for the run's rounds; dp.ts)
  --dp-clip C      the clip bound of those runs (default 1)
  --no-pin         do not pin each site agent to its own core(s) (Linux taskset)
  --verbose        echo the coordinator's and sites' output`;

export function parseArgs(argv: readonly string[]): BenchOptions {
  const o: BenchOptions = { setting: '6-5', scenes: 'disjoint', quick: false, methods: METHODS.map((m) => m.id), seeds: [1, 2, 3], verbose: false, keep: false, help: false, overrides: {}, pin: true, dpEpsilons: [], dpClip: 1 };
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new BenchUserError(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const take = (): string => {
      if (inline !== undefined) return inline;
      return value(i++, flag);
    };
    switch (flag) {
      case '--setting': o.setting = take(); break;
      case '--scenes': o.scenes = oneOf('--scenes', take(), SCENES); break;
      case '--quick': o.quick = true; break;
      case '--methods': {
        const list = take().split(',').map((s) => s.trim()).filter(Boolean);
        for (const m of list) if (!METHODS.some((x) => x.id === m)) throw new BenchUserError(`unknown method '${m}' (known: ${METHODS.map((x) => x.id).join(', ')})`);
        if (!list.length) throw new BenchUserError('--methods needs at least one method');
        o.methods = list;
        break;
      }
      case '--sites': o.sites = positiveNumber('--sites', take(), true); break;
      case '--json': o.json = take(); break;
      case '--markdown': o.markdown = take(); break;
      case '--out': o.out = take(); break;
      case '--seed': case '--seeds': {
        const list = take().split(',').map((x) => Number(x.trim()));
        if (!list.length || list.some((n) => !Number.isInteger(n) || n < 0)) throw new BenchUserError(`${flag} needs non-negative integers, comma-separated`);
        if (new Set(list).size !== list.length) throw new BenchUserError(`${flag}: a seed appears twice`);
        o.seeds = list;
        break;
      }
      case '--set': {
        const kv = take();
        const eq = kv.indexOf('=');
        if (eq < 1) throw new BenchUserError(`--set needs KEY=VALUE (got '${kv}')`);
        const raw = kv.slice(eq + 1);
        let v: unknown;
        try {
          v = JSON.parse(raw);
        } catch {
          v = raw;
        }
        o.overrides[kv.slice(0, eq)] = v;
        break;
      }
      case '--keep': o.keep = true; break;
      case '--reuse-step0': o.reuseStep0 = take(); break;
      case '--no-pin': o.pin = false; break;
      case '--dp-epsilon': o.dpEpsilons = parseEpsilons(take()); break;
      case '--dp-clip': o.dpClip = positiveNumber('--dp-clip', take()); break;
      case '--verbose': o.verbose = true; break;
      case '--help': case '-h': o.help = true; break;
      default: throw new BenchUserError(`unknown option '${a}'\n${USAGE}`);
    }
  }
  return o;
}
