// Response shapes of the coordinator's REST API: generated from its OpenAPI document
// (generated/api.ts; coordinator/src/http/responses.ts is the source), named here for the pages.
import type { components } from './generated/api';

type Schemas = components['schemas'];

export type User = Schemas['UserDto'];
export type Role = User['role'];
export type UserRow = Schemas['UserRowDto'];
export type RosterClass = Schemas['RosterClassDto'];
export type AddClassesResult = Schemas['AddClassesResponseDto'];
export type Round = Schemas['RoundDto'];
export type Step = Schemas['StepDto'];
export type SiteProgress = Schemas['SiteProgressDto'];
export type AuditEntry = Schemas['AuditEntryDto'];
export type Overview = Schemas['OverviewDto'];
export type Site = Schemas['SiteWithContributionDto'];
export type SiteUpdate = Schemas['SiteUpdateDto'];
export type ModelVersion = Schemas['ModelVersionDto'];
export type MIoU = Schemas['MiouDto'];
/** One step of GET /api/reports (IoU as fractions; null: the class was neither present nor predicted). */
export type ReportStep = Schemas['StepReportDto'];
export type Reports = Schemas['ReportsDto'];
/** GET /api/reports/steps/:step/rounds: old/new/all mIoU of each evaluated segmenter round of a step. */
export type RoundSeries = Schemas['RoundSeriesDto'];
export type Overlay = Schemas['OverlayDto'];
export type ReplayStep = Schemas['ReplayStepDto'];
export type ReplayReport = Schemas['ReplayReportDto'];
export type PrivacyView = Schemas['PrivacyViewDto'];

/** Server-sent events of /api/events (coordinator/src/federation/progress-hub.ts; not part of OpenAPI). */
export type FederationEvent =
  | { type: 'progress'; progress: SiteProgress }
  | { type: 'round'; roundId: string; status: string; reason: string | null }
  | { type: 'step'; step: number; status: string }
  | { type: 'withheld'; siteId: string; roundId: string; kind: string; reason: string };
