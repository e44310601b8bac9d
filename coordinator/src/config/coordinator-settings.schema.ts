/**
 * The coordinator's own settings (flags and FEDCISS_* variables; the training settings have their
 * own file and schema). This schema is the one source of their type (CoordinatorConfig = z.infer),
 * defaults and bounds; values arrive as text and are coerced here. A problem is reported with the
 * setting's path and where it can be set.
 */
import { z } from 'zod';
import { describeSettingsIssues } from '@fedciss/proto';
import { trainingSettingsSchema } from './training-settings.schema';

export const STRAGGLER_POLICIES = ['wait', 'drop', 'accept-late-same-round'] as const;

/** An integer given as a number or as text (flags and environment variables are text). */
const integer = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const hostPort = z.string().regex(/^[^\s\u0000]+:\d{1,5}$/, 'must be host:port');

export const roundSettingsSchema = z.strictObject({
  /** Minimum number of accepted updates for a round to aggregate. */
  quorum: integer(1).default(2),
  /** How long sites have to upload, from the round's opening. */
  deadlineSeconds: integer(1).default(600),
  /** Under `wait`, how long past the deadline a round may wait for its quorum before it fails. */
  hardLimitSeconds: integer(1).default(1800),
  stragglers: z.enum(STRAGGLER_POLICIES).default('drop'),
  /** A site without a heartbeat for this long counts as dead and is not waited for. */
  heartbeatTimeoutSeconds: integer(1).default(60),
  /** Segmenter rounds per incremental step. */
  segmenterRounds: integer(1).default(2),
  /** Generator rounds of step 0, and of a later step that opens without a generator (0: no diffusion
   * replay). Several short ones rather than one long: each round averages the sites' generators, and
   * generators trained far apart average into a field of one colour (ml's REPLAY_GENERATOR_TRAINING:
   * four rounds of 150 s). */
  generatorRounds: integer(0).default(4),
  /**
   * Generator rounds of a later step that opens with a generator: they train it on that step's
   * images. 0 (the default) keeps the generator as it is, and every step replays from it. Trained on
   * a step's few surgeries, the generator forgot the earlier scenes as a segmenter does: in bench:ciss
   * 6-1 (quick, 3 seeds) its replay fidelity fell from 0.6 at step 1 to 0.27-0.51 at step 4, where the
   * kept one stayed at 0.45-0.62 (mean over seeds, steps 1-5), and keeping it gave +4.0 ± 3.0
   * old-class mIoU after five steps at 37 % of the time (docs/benchmarks/ciss.md). Raise it for a federation whose later steps bring many
   * patients of a kind step 0 did not see.
   */
  laterStepGeneratorRounds: integer(0).default(0),
  /**
   * Failed generator rounds a step tries before it goes on with the generator it has (e.g. every
   * site withheld its generator at the memorisation gate, which a retrained generator can pass).
   * The generator only serves replay: a step must not stall on it.
   */
  generatorFailuresPerStep: integer(1).default(3),
});

/** Who may enrol, and the bounds of enrolment, the one call that needs no certificate. */
export const enrollmentSettingsSchema = z.strictObject({
  /**
   * 'invitation' (the default with mutual TLS) needs the one-time token of an invitation
   * (coordinator sites invite); 'open' takes any request to the admins (loopback demo, or
   * --open-enrollment). The admin's approval decides either way.
   */
  mode: z.enum(['invitation', 'open']).default('invitation'),
  /** Pending requests (not yet approved or rejected) from one peer address. */
  maxPendingPerAddress: integer(1).default(10),
  /** Pending requests in total. */
  maxPending: integer(1).default(200),
  /** A request nobody approved or rejected within this time is removed (the site may ask again). */
  pendingExpirySeconds: integer(1).default(7 * 24 * 3600),
});

/**
 * The leader lease of coordinators sharing one database (coordinator/src/leadership): one runs the
 * federation, a standby takes over once the leader has not renewed for `leaseSeconds`.
 */
export const leadershipSettingsSchema = z
  .strictObject({
    /** How long a lease lasts unrenewed: a standby takes over at most this long (plus one renewal) after the leader dies. */
    leaseSeconds: integer(2, 3600).default(15),
    /** How often the holder renews, and a standby tries to take the lease. */
    renewSeconds: integer(1, 3600).default(5),
  })
  .refine((l) => l.renewSeconds * 2 <= l.leaseSeconds, { message: 'renewSeconds must be at most half of leaseSeconds (a renewal may be late once)', path: ['renewSeconds'] });

export const coordinatorSettingsSchema = z.strictObject({
  dataDir: z.string().min(1),
  /** postgres://… to use a PostgreSQL server; unset: embedded PGlite under dataDir/db. */
  databaseUrl: z.string().min(1).optional(),
  grpcAddress: hostPort.default('127.0.0.1:50051'),
  /** Server-side-TLS port where sites without a certificate yet may call Enroll (mTLS mode only). */
  enrollAddress: hostPort,
  /** Extra names the coordinator's TLS certificate must cover (besides localhost). */
  tlsHostnames: z.array(z.string().min(1).max(253)),
  httpHost: z.string().min(1).default('127.0.0.1'),
  httpPort: integer(0, 65535).default(8080),
  /** Plaintext gRPC: only for a loopback demo; otherwise mutual TLS with the federation's CA. */
  insecure: z.boolean(),
  pkiDir: z.string().min(1),
  rounds: roundSettingsSchema,
  enrollment: enrollmentSettingsSchema,
  leadership: leadershipSettingsSchema,
  training: trainingSettingsSchema,
  /** Sites enrolling in insecure (loopback demo) mode are approved without an admin. */
  autoApprove: z.boolean(),
  /** How often the round clock checks deadlines and heartbeats. */
  tickMs: integer(10).default(1000),
});

export type RoundSettings = z.output<typeof roundSettingsSchema>;
export type EnrollmentSettings = z.output<typeof enrollmentSettingsSchema>;
export type LeadershipSettings = z.output<typeof leadershipSettingsSchema>;
export type StragglerPolicy = RoundSettings['stragglers'];
export type CoordinatorConfig = z.output<typeof coordinatorSettingsSchema>;
/** The settings before checking: text where flags and variables give text. */
export type CoordinatorSettingsInput = z.input<typeof coordinatorSettingsSchema>;

export const DEFAULT_ROUNDS: RoundSettings = roundSettingsSchema.parse({});
export const DEFAULT_ENROLLMENT: EnrollmentSettings = enrollmentSettingsSchema.parse({});

/** Checks and coerces the settings; `where` names the flag and variable of a path, for the message. */
export function checkCoordinatorSettings(input: CoordinatorSettingsInput, where: (path: string) => string | undefined): { ok: true; value: CoordinatorConfig } | { ok: false; problems: string[] } {
  const parsed = coordinatorSettingsSchema.safeParse(input);
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    problems: describeSettingsIssues(parsed.error.issues).map((line) => {
      const path = line.slice(0, line.indexOf(':'));
      const source = where(path);
      return source ? `${path} (${source})${line.slice(path.length)}` : line;
    }),
  };
}
