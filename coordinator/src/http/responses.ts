/**
 * Response bodies of the REST API, as classes so that OpenAPI (/api/openapi.json) describes them and
 * the console's types are generated from that document (coordinator/console/src/generated/api.ts,
 * `npm run generate:console-api -w coordinator`). Each class `implements` the server's own type where
 * one exists, so a field added there does not compile until it is described here.
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { ReportClass, Miou, SiteBreakdown, CrossSiteCell, StepReport, RoundPoint } from '../reports/federated-report';
import type { ReplaySiteCheck, ReplaySkipReasonName, ReplayStepReport, WithheldGenerator } from '../reports/replay-report.service';
import type { Overlay } from '../reports/overlays.service';
import type { DifferentialPrivacySettings, SecureAggregationSettings } from '../privacy/privacy-settings';
import type { PrivacyView, SiteSpend } from '../privacy/privacy-ledger.service';
import type { AdaptiveClippingSettings } from '../privacy/adaptive-clipping';
import type { ClipRound } from '../privacy/adaptive-clip.service';
import type { SiteProgress } from '../federation/progress-hub';
import type { SiteView } from '../sites/sites.service';
import type { SiteContribution } from '../federation/repositories/updates.repository';
import type { UserView } from '../auth/users.service';
import type { Principal } from '../auth/admin-auth.service';
import type { InvitationBundle, InvitationView } from '../sites/invitations.service';
import type { RosterClassView } from '../roster/roster.service';

const nullableString = { type: String, nullable: true } as const;
const nullableNumber = { type: Number, nullable: true } as const;
/** A JSON object whose keys are not fixed (settings, metrics, details). */
const anyObject = { type: 'object', additionalProperties: true } as const;
const ROLES = ['admin', 'viewer'] as const;

// ---- people ----

export class UserDto implements Principal {
  @ApiProperty() userId!: string;
  @ApiProperty() username!: string;
  @ApiProperty({ enum: ROLES }) role!: 'admin' | 'viewer';
}

export class SignInResponseDto {
  @ApiProperty({ description: 'the session token (also set as an HttpOnly cookie)' }) token!: string;
  @ApiProperty() expiresAt!: string;
  @ApiProperty({ type: UserDto }) user!: UserDto;
}

export class UserRowDto implements UserView {
  @ApiProperty() username!: string;
  @ApiProperty({ enum: ROLES }) role!: 'admin' | 'viewer';
  @ApiProperty() disabled!: boolean;
  @ApiProperty() createdAt!: string;
}

// ---- roster, steps, rounds ----

export class RosterClassDto implements RosterClassView {
  @ApiProperty({ description: 'the output channel (0 is background)' }) id!: number;
  @ApiProperty() name!: string;
  @ApiProperty({ example: '#bcbd22' }) color!: string;
  @ApiProperty() description!: string;
  @ApiProperty() stepAdded!: number;
  @ApiProperty() archived!: boolean;
}

export class AddClassesResponseDto {
  @ApiProperty({ description: 'the incremental step the classes opened' }) step!: number;
  @ApiProperty({ type: [RosterClassDto] }) classes!: RosterClassDto[];
}

export class WithheldDto {
  @ApiProperty() siteId!: string;
  @ApiProperty() reason!: string;
}

export class RoundDto {
  @ApiProperty() id!: string;
  @ApiProperty() step!: number;
  @ApiProperty({ enum: ['segmenter', 'generator', 'evaluate'] }) kind!: 'segmenter' | 'generator' | 'evaluate';
  @ApiProperty() index!: number;
  @ApiProperty({ enum: ['collecting', 'aggregating', 'completed', 'failed'] }) status!: 'collecting' | 'aggregating' | 'completed' | 'failed';
  @ApiProperty(nullableString) reason!: string | null;
  @ApiProperty(nullableString) baseVersionId!: string | null;
  @ApiProperty(nullableString) resultVersionId!: string | null;
  @ApiProperty() quorum!: number;
  @ApiProperty() deadlineAt!: string;
  @ApiProperty() openedAt!: string;
  @ApiProperty(nullableString) closedAt!: string | null;
  @ApiProperty({ type: [String], description: 'the sites invited to the round' }) sites!: string[];
  @ApiProperty({ type: [String] }) accepted!: string[];
  @ApiProperty({ type: [String] }) rejected!: string[];
  @ApiProperty({ type: [WithheldDto], description: 'sites that kept their update back (memorisation gate), with why' }) withheld!: WithheldDto[];
}

export class StepDto {
  @ApiProperty() index!: number;
  @ApiProperty({ enum: ['open', 'training', 'evaluating', 'completed'] }) status!: 'open' | 'training' | 'evaluating' | 'completed';
  @ApiProperty(nullableString) teacherVersionId!: string | null;
  @ApiProperty({ type: [Number] }) newClassIds!: number[];
  @ApiProperty() numClasses!: number;
  @ApiProperty() createdAt!: string;
  @ApiProperty(nullableString) completedAt!: string | null;
  @ApiPropertyOptional({ type: [RoundDto], description: 'oldest first' }) rounds?: RoundDto[];
}

// ---- overview, audit ----

export class SiteProgressDto implements SiteProgress {
  @ApiProperty() siteId!: string;
  @ApiProperty() roundId!: string;
  @ApiProperty() phase!: string;
  @ApiProperty() fraction!: number;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'number' } }) metrics!: Record<string, number>;
  @ApiProperty() message!: string;
  @ApiProperty() at!: string;
}

export class AuditEntryDto {
  @ApiProperty() id!: number;
  @ApiProperty() at!: string;
  @ApiProperty() actor!: string;
  @ApiProperty() action!: string;
  @ApiProperty() target!: string;
  @ApiProperty(anyObject) details!: unknown;
}

export class StepSummaryDto {
  @ApiProperty() index!: number;
  @ApiProperty({ enum: ['open', 'training', 'evaluating', 'completed'] }) status!: 'open' | 'training' | 'evaluating' | 'completed';
}

export class OverviewDto {
  @ApiProperty({ type: StepSummaryDto, nullable: true }) step!: StepSummaryDto | null;
  @ApiProperty({ type: RoundDto, nullable: true }) round!: RoundDto | null;
  @ApiProperty({ type: [SiteProgressDto] }) progress!: SiteProgressDto[];
  @ApiProperty({ type: [AuditEntryDto] }) events!: AuditEntryDto[];
}

export class HealthDto {
  @ApiProperty() ok!: boolean;
  @ApiProperty({ enum: ['pglite', 'postgres'] }) database!: 'pglite' | 'postgres';
}

// ---- sites, updates, invitations ----

export class SiteDto implements SiteView {
  @ApiProperty() id!: string;
  @ApiProperty() displayName!: string;
  @ApiProperty({ enum: ['pending', 'approved', 'rejected', 'revoked'] }) status!: 'pending' | 'approved' | 'rejected' | 'revoked';
  @ApiProperty() alive!: boolean;
  @ApiProperty(nullableString) lastHeartbeatAt!: string | null;
  @ApiProperty(nullableString) agentState!: string | null;
  @ApiProperty(anyObject) capabilities!: unknown;
  @ApiProperty() createdAt!: string;
}

export class SiteWithContributionDto extends SiteDto implements SiteContribution {
  @ApiProperty() acceptedUpdates!: number;
  @ApiProperty() realImagesContributed!: number;
  @ApiProperty() replayImagesContributed!: number;
  @ApiProperty() rejectedUpdates!: number;
}

export class SiteUpdateDto {
  @ApiProperty() id!: string;
  @ApiProperty() roundId!: string;
  @ApiProperty() siteId!: string;
  @ApiProperty({ enum: ['receiving', 'accepted', 'rejected'] }) status!: 'receiving' | 'accepted' | 'rejected';
  @ApiProperty(nullableString) rejectionReason!: string | null;
  @ApiProperty() totalBytes!: number;
  @ApiProperty() receivedBytes!: number;
  @ApiProperty() realImages!: number;
  @ApiProperty() replayImages!: number;
  @ApiProperty(anyObject) metrics!: unknown;
  @ApiProperty() createdAt!: string;
}

export class InvitationDto implements InvitationView {
  @ApiProperty() id!: string;
  @ApiProperty() siteName!: string;
  @ApiProperty() createdBy!: string;
  @ApiProperty() createdAt!: string;
  @ApiProperty() expiresAt!: string;
  @ApiProperty(nullableString) usedAt!: string | null;
  @ApiProperty(nullableString) siteId!: string | null;
  @ApiProperty({ enum: ['open', 'used', 'expired'] }) state!: 'open' | 'used' | 'expired';
}

export class InvitationBundleDto implements InvitationBundle {
  @ApiProperty({ enum: ['fedciss-invitation/1'] }) format!: 'fedciss-invitation/1';
  @ApiProperty() siteName!: string;
  @ApiProperty() invitationId!: string;
  @ApiProperty({ description: 'one-time enrolment token; the coordinator keeps only its hash' }) token!: string;
  @ApiProperty() expiresAt!: string;
  @ApiProperty() federationAddress!: string;
  @ApiProperty() enrollAddress!: string;
  @ApiProperty() caCertificatePem!: string;
  @ApiProperty() caFingerprint256!: string;
}

// ---- models ----

export class ModelVersionDto {
  @ApiProperty() id!: string;
  @ApiProperty({ enum: ['segmenter', 'generator'] }) kind!: 'segmenter' | 'generator';
  @ApiProperty() sha256!: string;
  @ApiProperty() sizeBytes!: number;
  @ApiProperty(nullableString) parentId!: string | null;
  @ApiProperty() stepIndex!: number;
  @ApiProperty(nullableString) roundId!: string | null;
  @ApiProperty() numClasses!: number;
  @ApiProperty(anyObject) config!: unknown;
  @ApiProperty() note!: string;
  @ApiProperty() createdAt!: string;
}

// ---- reports ----

const iouByClass = { type: 'object', additionalProperties: { type: 'number', nullable: true }, description: 'class id → IoU (null: neither present nor predicted)' } as const;

export class ReportClassDto implements ReportClass {
  @ApiProperty() id!: number;
  @ApiProperty() name!: string;
  @ApiProperty() color!: string;
  @ApiProperty() stepAdded!: number;
}

export class MiouDto implements Miou {
  @ApiProperty(nullableNumber) old!: number | null;
  @ApiProperty(nullableNumber) new!: number | null;
  @ApiProperty(nullableNumber) all!: number | null;
}

export class SiteBreakdownDto implements SiteBreakdown {
  @ApiProperty() siteId!: string;
  @ApiProperty() images!: number;
  @ApiProperty(iouByClass) perClassIoU!: Record<number, number | null>;
  @ApiProperty({ type: MiouDto }) mIoU!: MiouDto;
}

export class CrossSiteCellDto implements CrossSiteCell {
  @ApiProperty() modelSite!: string;
  @ApiProperty() modelVersionId!: string;
  @ApiProperty() evaluatedAt!: string;
  @ApiProperty() images!: number;
  @ApiProperty({ type: MiouDto }) mIoU!: MiouDto;
}

export class StepReportDto implements StepReport {
  @ApiProperty() step!: number;
  @ApiProperty() modelVersionId!: string;
  @ApiProperty({ type: [ReportClassDto], description: 'every class the step\'s model predicts' }) classes!: ReportClassDto[];
  @ApiProperty() images!: number;
  @ApiProperty(iouByClass) perClassIoU!: Record<number, number | null>;
  @ApiProperty({ type: MiouDto }) mIoU!: MiouDto;
  @ApiProperty({ ...iouByClass, description: 'best earlier IoU minus this step\'s (positive = forgotten); null without history' }) forgetting!: Record<number, number | null>;
  @ApiProperty({ type: [SiteBreakdownDto] }) perSite!: SiteBreakdownDto[];
  @ApiPropertyOptional({ type: [CrossSiteCellDto], description: 'present when the step ran a cross-site evaluation' }) crossSite?: CrossSiteCellDto[];
}

export class ReportsDto {
  @ApiProperty({ type: [StepReportDto] }) steps!: StepReportDto[];
}

export class RoundPointDto implements RoundPoint {
  @ApiProperty({ description: 'the segmenter round\'s index within the step' }) round!: number;
  @ApiProperty() roundId!: string;
  @ApiProperty({ description: 'the round\'s aggregate, the version the sites evaluated' }) modelVersionId!: string;
  @ApiProperty() images!: number;
  @ApiProperty({ description: 'sites that reported an evaluation' }) sites!: number;
  @ApiProperty({ type: MiouDto }) mIoU!: MiouDto;
  @ApiProperty(iouByClass) perClassIoU!: Record<number, number | null>;
}

export class RoundSeriesDto {
  @ApiProperty() step!: number;
  @ApiProperty({ type: [RoundPointDto], description: 'evaluated segmenter rounds in order (every round with the training setting evaluateEveryRound, else the step\'s last)' }) points!: RoundPointDto[];
}

export class OverlayDto implements Overlay {
  @ApiProperty({ description: 'base64 PNG of a generated image' }) imagePng!: string;
  @ApiProperty({ description: 'base64 PNG of the prediction drawn over it' }) overlayPng!: string;
}

export class SiteFidelityDto implements ReplaySiteCheck {
  @ApiProperty() siteId!: string;
  @ApiProperty() fidelity!: number;
  @ApiProperty() teacherMiou!: number;
  @ApiProperty() studentMiou!: number;
  @ApiProperty() skipped!: boolean;
  @ApiProperty({ ...nullableNumber, description: 'fidelity of the same student taught on the untrained generator\'s noise (the floor); null: not measured' }) noiseFidelity!: number | null;
  @ApiProperty(nullableNumber) foregroundFidelity!: number | null;
  @ApiProperty(nullableNumber) noiseForegroundFidelity!: number | null;
  @ApiProperty({ ...nullableNumber, description: 'replay is used only when fidelity > noiseFidelity + margin' }) margin!: number | null;
  @ApiProperty({ ...nullableNumber, description: 'wall seconds the noise student cost the site' }) noiseSeconds!: number | null;
  @ApiProperty({ ...nullableNumber, description: 'share of the step\'s own image pixels the teacher\'s pseudo-labels give to old classes; null: not measured' }) oldClassShare!: number | null;
  @ApiProperty({ type: String, nullable: true, enum: ['low-fidelity', 'old-classes-shown'], description: 'why the site did not replay; null: it replayed' }) skipReason!: ReplaySkipReasonName | null;
}

export class WithheldGeneratorDto implements WithheldGenerator {
  @ApiProperty() siteId!: string;
  @ApiProperty() roundId!: string;
  @ApiProperty({ description: 'why the site kept its generator back (the memorisation gate\'s figures)' }) reason!: string;
}

export class ReplayStepDto implements ReplayStepReport {
  @ApiProperty() step!: number;
  @ApiProperty(nullableNumber) fidelity!: number | null;
  @ApiProperty({ ...nullableNumber, description: 'mean over sites of the noise floor of fidelity' }) noiseFidelity!: number | null;
  @ApiProperty({ type: [SiteFidelityDto] }) fidelityBySite!: SiteFidelityDto[];
  @ApiProperty({ type: [String] }) skippedSites!: string[];
  @ApiProperty(nullableNumber) realism!: number | null;
  @ApiProperty() privacyFlagged!: number;
  @ApiProperty() generatorSteps!: number;
  @ApiProperty({ description: 'the step\'s generator rounds that failed' }) generatorRoundsFailed!: number;
  @ApiProperty({ type: [WithheldGeneratorDto] }) withheldGenerators!: WithheldGeneratorDto[];
  @ApiProperty({ ...nullableString, description: 'why the step went on without its planned generator rounds (failed too often, or the privacy budget); null: it did not' }) generatorGivenUp!: string | null;
}

export class ReplayReportDto {
  @ApiProperty({ type: [ReplayStepDto] }) steps!: ReplayStepDto[];
}

export class PrivacyBudgetDto {
  @ApiProperty(nullableNumber) segmenter!: number | null;
  @ApiProperty(nullableNumber) generator!: number | null;
}

export class AdaptiveClippingDto implements AdaptiveClippingSettings {
  @ApiProperty() targetQuantile!: number;
  @ApiProperty() learningRate!: number;
  @ApiProperty() countNoiseStddev!: number;
}

export class DifferentialPrivacyDto implements DifferentialPrivacySettings {
  @ApiProperty() clipNorm!: number;
  @ApiProperty() noiseMultiplier!: number;
  @ApiProperty({ enum: ['site', 'aggregate'] }) noise!: 'site' | 'aggregate';
  @ApiProperty() delta!: number;
  @ApiProperty({ type: PrivacyBudgetDto }) budget!: PrivacyBudgetDto;
  @ApiPropertyOptional({ type: AdaptiveClippingDto, nullable: true }) adaptiveClipping?: AdaptiveClippingDto | null;
}

export class NoiseSplitDto {
  @ApiProperty() updateNoiseMultiplier!: number;
  @ApiProperty() countNoiseStddev!: number;
}

export class ClipRoundDto implements ClipRound {
  @ApiProperty() roundId!: string;
  @ApiProperty() step!: number;
  @ApiProperty({ enum: ['segmenter', 'generator'] }) kind!: 'segmenter' | 'generator';
  @ApiProperty() index!: number;
  @ApiProperty() status!: string;
  @ApiProperty() clipNorm!: number;
  @ApiProperty(nullableNumber) sites!: number | null;
  @ApiProperty(nullableNumber) unclippedFraction!: number | null;
  @ApiProperty(nullableNumber) nextClipNorm!: number | null;
}

export class SecureAggregationDto implements SecureAggregationSettings {
  @ApiProperty() threshold!: number;
  @ApiProperty() neighbours!: number;
  @ApiProperty() clipNorm!: number;
  @ApiProperty() sampleWeightCap!: number;
}

export class SiteSpendDto implements SiteSpend {
  @ApiProperty() siteId!: string;
  @ApiProperty({ enum: ['segmenter', 'generator'] }) kind!: 'segmenter' | 'generator';
  @ApiProperty() rounds!: number;
  @ApiProperty() epsilon!: number;
  @ApiProperty() delta!: number;
  @ApiProperty(nullableNumber) budget!: number | null;
}

export class PrivacyViewDto implements PrivacyView {
  @ApiProperty({ type: DifferentialPrivacyDto, nullable: true }) differentialPrivacy!: DifferentialPrivacyDto | null;
  @ApiProperty({ type: SecureAggregationDto, nullable: true }) secureAggregation!: SecureAggregationDto | null;
  @ApiProperty() participationRate!: number;
  @ApiProperty({ type: [SiteSpendDto] }) spend!: SiteSpendDto[];
  @ApiProperty({ type: NoiseSplitDto, nullable: true }) noiseSplit!: NoiseSplitDto | null;
  @ApiProperty({ type: [ClipRoundDto] }) clipping!: ClipRoundDto[];
}
