// Response shapes of the coordinator's REST API (see coordinator/src/http/*.ts).

export type Role = 'admin' | 'viewer';
export interface User { username: string; role: Role }

export interface RosterClass { id: number; name: string; color: string; description: string; stepAdded: number; archived: boolean }

export interface Round {
  id: string; step: number; kind: string; index: number; status: string; reason: string | null; baseVersionId: string | null;
  resultVersionId: string | null; quorum: number; deadlineAt: string; openedAt: string; closedAt: string | null;
  sites: string[]; accepted: string[]; rejected: string[];
  /** Sites that kept their update back (memorisation gate), with why. */
  withheld: { siteId: string; reason: string }[];
}

export interface Step {
  index: number; status: string; teacherVersionId: string | null; newClassIds: number[]; numClasses: number;
  createdAt: string; completedAt: string | null; rounds?: Round[];
}

export interface SiteProgress { siteId: string; roundId: string; phase: string; fraction: number; metrics: Record<string, number>; message: string; at: string }
export interface AuditEntry { id: number; at: string; actor: string; action: string; target: string; details: unknown }

export interface Overview {
  step: { index: number; status: string } | null;
  round: Round | null;
  progress: SiteProgress[];
  events: AuditEntry[];
}

export type FederationEvent =
  | { type: 'progress'; progress: SiteProgress }
  | { type: 'round'; roundId: string; status: string; reason: string | null }
  | { type: 'step'; step: number; status: string }
  | { type: 'withheld'; siteId: string; roundId: string; kind: string; reason: string };

export interface Site {
  id: string; displayName: string; status: 'pending' | 'approved' | 'rejected' | 'revoked'; alive: boolean; lastHeartbeatAt: string | null;
  agentState: string | null; capabilities: unknown; createdAt: string;
  acceptedUpdates: number; realImagesContributed: number; replayImagesContributed: number; rejectedUpdates: number;
}

export interface SiteUpdate {
  id: string; roundId: string; siteId: string; status: string; rejectionReason: string | null; totalBytes: number; receivedBytes: number;
  realImages: number; replayImages: number; metrics: unknown; createdAt: string;
}

export interface ModelVersion {
  id: string; kind: 'segmenter' | 'generator' | string; sha256: string; sizeBytes: number; parentId: string | null; stepIndex: number;
  roundId: string | null; numClasses: number; config: unknown; note: string | null; createdAt: string;
}

export interface MIoU { old: number | null; new: number | null; all: number | null }
/** One step of GET /api/reports (IoU as fractions; null: the class was neither present nor predicted). */
export interface ReportStep {
  step: number;
  modelVersionId: string;
  /** Every class the step's model predicts (may include background, id 0). */
  classes: { id: number; name: string; color: string; stepAdded: number }[];
  perClassIoU: Record<string, number | null>;
  mIoU: MIoU;
  /** Best earlier IoU minus this step's (positive = forgotten); null or absent without history. */
  forgetting: Record<string, number | null>;
  perSite: { siteId: string; images?: number; perClassIoU: Record<string, number | null>; mIoU: MIoU }[];
  images: number;
  /** Each site's local model on each site's test patients (when the step ran a cross-site evaluation). */
  crossSite?: { modelSite: string; evaluatedAt: string; images: number; mIoU: MIoU }[];
}
export interface Reports { steps: ReportStep[] }
export interface Overlay { imagePng: string; overlayPng: string }
export interface ReplayStep {
  step: number;
  fidelity: number | null;
  fidelityBySite: { siteId: string; fidelity: number; teacherMiou: number; studentMiou: number; skipped: boolean }[];
  skippedSites: string[];
  realism: number | null;
  privacyFlagged: number;
  generatorSteps: number;
}
export interface ReplayReport { steps: ReplayStep[] }

/** GET /api/reports/privacy (coordinator/src/privacy/privacy-ledger.service.ts). */
export interface PrivacyView {
  differentialPrivacy: {
    clipNorm: number; noiseMultiplier: number; noise: string; delta: number; budget: { segmenter: number | null; generator: number | null };
    adaptiveClipping?: { targetQuantile: number; learningRate: number; countNoiseStddev: number } | null;
  } | null;
  secureAggregation: { threshold: number; neighbours: number; clipNorm: number; sampleWeightCap: number } | null;
  participationRate: number;
  spend: { siteId: string; kind: string; rounds: number; epsilon: number; delta: number; budget: number | null }[];
  noiseSplit: { updateNoiseMultiplier: number; countNoiseStddev: number } | null;
  clipping: ClipRound[];
}

/** One round's clip bound under adaptive clipping (coordinator/src/privacy/adaptive-clip.service.ts). */
export interface ClipRound {
  roundId: string; step: number; kind: string; index: number; status: string;
  clipNorm: number; sites: number | null; unclippedFraction: number | null; nextClipNorm: number | null;
}
