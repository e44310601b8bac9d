import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Body, Controller, Get, Header, Param, ParseIntPipe, Patch, Post, Query, Res, Sse, type MessageEvent } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { map, type Observable } from 'rxjs';
import type { Principal } from '../auth/admin-auth.service';
import { RosterService } from '../roster/roster.service';
import { SitesService } from '../sites/sites.service';
import { ModelVersionsService } from '../models/model-versions.service';
import { ModelExportService } from '../models/model-export.service';
import { RoundsRepository } from '../federation/repositories/rounds.repository';
import { StepsRepository } from '../federation/repositories/steps.repository';
import { UpdatesRepository, type SiteContribution } from '../federation/repositories/updates.repository';
import { ProgressHub } from '../federation/progress-hub';
import { AuditService } from '../audit/audit.service';
import { DatabaseService } from '../database/database.service';
import { invalid } from '../common/errors';
import { quote } from '../common/text';
import { AddClassesDto, ArchiveDto } from './dtos';
import { CurrentUser, Public, Requires } from './auth.guard';
import { mapModelVersion, mapRound, mapStep, mapUpdate } from './views';
import { AddClassesResponseDto, AuditEntryDto, HealthDto, ModelVersionDto, OverviewDto, RosterClassDto, RoundDto, SiteDto, SiteUpdateDto, SiteWithContributionDto, StepDto } from './responses';

@ApiTags('roster')
@Controller('api/roster')
export class RosterController {
  constructor(private readonly roster: RosterService) {}

  @Get()
  @Requires('read')
  @ApiOkResponse({ type: [RosterClassDto] })
  list(): Promise<RosterClassDto[]> {
    return this.roster.list();
  }

  /** Adds classes; this opens the next incremental step. */
  @Post('classes')
  @Requires('roster:write')
  @ApiOkResponse({ type: AddClassesResponseDto })
  add(@CurrentUser() user: Principal, @Body() body: AddClassesDto): Promise<AddClassesResponseDto> {
    return this.roster.addClasses(user.username, body.classes);
  }

  @Patch('classes/:id')
  @Requires('roster:write')
  @ApiOkResponse({ type: RosterClassDto })
  archive(@CurrentUser() user: Principal, @Param('id', ParseIntPipe) id: number, @Body() body: ArchiveDto): Promise<RosterClassDto> {
    return this.roster.setArchived(user.username, id, body.archived);
  }
}

/** The audit log's filter from query strings, each checked (a 400 names the parameter). */
function auditFilter(q: { actor?: string; action?: string; from?: string; to?: string }) {
  const text = (name: string, v: string | undefined, max: number) => {
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string' || v.length > max || /[\u0000-\u001f]/.test(v)) throw invalid(`${name} must be text of at most ${max} characters`);
    return v;
  };
  const time = (name: string, v: string | undefined) => {
    if (v === undefined || v === '') return undefined;
    const t = typeof v === 'string' && v.length <= 40 ? new Date(v) : new Date(NaN);
    if (Number.isNaN(t.getTime())) throw invalid(`${name} must be an ISO 8601 date and time (e.g. 2026-11-30T10:00:00Z)`);
    return t;
  };
  return { actor: text('actor', q.actor, 120), action: text('action', q.action, 64), from: time('from', q.from), to: time('to', q.to) };
}

@ApiTags('federation')
@Controller('api')
export class FederationController {
  constructor(
    private readonly db: DatabaseService,
    private readonly stepRecords: StepsRepository,
    private readonly rounds: RoundsRepository,
    private readonly progress: ProgressHub,
    private readonly audit: AuditService,
  ) {}

  @Get('steps')
  @Requires('read')
  @ApiOkResponse({ type: [StepDto], description: 'every step, oldest first, with its rounds' })
  async steps(): Promise<StepDto[]> {
    return (await this.stepRecords.withRounds()).map(mapStep);
  }

  @Get('rounds')
  @Requires('read')
  @ApiOkResponse({ type: [RoundDto], description: 'newest first, at most 200' })
  async rounds_(@Query('step') step?: string): Promise<RoundDto[]> {
    // Step indexes are 32-bit integers in the database: a longer number is refused here, not by Prisma (a 500).
    if (step !== undefined && !(/^\d{1,10}$/.test(step) && Number(step) <= 2 ** 31 - 1)) throw invalid('step must be a non-negative 32-bit integer');
    return (await this.rounds.list(step === undefined ? undefined : Number(step))).map(mapRound);
  }

  /** Everything the console's overview shows, in one call. */
  @Get('overview')
  @Requires('read')
  @ApiOkResponse({ type: OverviewDto })
  async overview(): Promise<OverviewDto> {
    const step = await this.stepRecords.latest();
    const round = step ? await this.rounds.latestOf(step.index) : null;
    return {
      step: step ? { index: step.index, status: step.status } : null,
      round: round ? mapRound(round) : null,
      progress: this.progress.snapshot(),
      events: await this.audit.recent(20),
    };
  }

  @Sse('events')
  @Requires('read')
  events(): Observable<MessageEvent> {
    return this.progress.stream().pipe(map((e) => ({ type: e.type, data: e })));
  }

  @Get('audit')
  @Requires('audit:read')
  @ApiOkResponse({ type: [AuditEntryDto] })
  auditLog(@Query('limit') limit?: string, @Query('actor') actor?: string, @Query('action') action?: string, @Query('from') from?: string, @Query('to') to?: string) {
    if (limit !== undefined && !/^\d{1,4}$/.test(limit)) throw invalid('limit must be an integer between 1 and 1000');
    return this.audit.search({ limit: limit ? Number(limit) || 100 : 100, ...auditFilter({ actor, action, from, to }) });
  }

  @Get('audit/actions')
  @Requires('audit:read')
  @ApiOkResponse({ type: [String], description: 'every action the audit log holds' })
  auditActions(): Promise<string[]> {
    return this.audit.actions();
  }

  @Get('health')
  @Public()
  @ApiOkResponse({ type: HealthDto })
  health(): HealthDto {
    return { ok: true, database: this.db.kind };
  }
}

const NO_CONTRIBUTION: SiteContribution = { acceptedUpdates: 0, realImagesContributed: 0, replayImagesContributed: 0, rejectedUpdates: 0 };

@ApiTags('sites')
@Controller('api/sites')
export class SitesController {
  constructor(private readonly sites: SitesService, private readonly updateRecords: UpdatesRepository) {}

  @Get()
  @Requires('read')
  @ApiOkResponse({ type: [SiteWithContributionDto] })
  async list(): Promise<SiteWithContributionDto[]> {
    const sites = await this.sites.list();
    const contributions = await this.updateRecords.contributions();
    return sites.map((s) => ({ ...s, ...(contributions.get(s.id) ?? NO_CONTRIBUTION) }));
  }

  @Get(':id/updates')
  @Requires('read')
  @ApiOkResponse({ type: [SiteUpdateDto], description: 'newest first, at most 200' })
  async updates(@Param('id') id: string): Promise<SiteUpdateDto[]> {
    await this.sites.get(id);
    return (await this.updateRecords.ofSite(id)).map(mapUpdate);
  }

  @Post(':id/approve')
  @Requires('sites:write')
  @ApiOkResponse({ type: SiteDto })
  approve(@CurrentUser() user: Principal, @Param('id') id: string) {
    return this.sites.approve(user.username, id);
  }

  @Post(':id/reject')
  @Requires('sites:write')
  @ApiOkResponse({ type: SiteDto })
  reject(@CurrentUser() user: Principal, @Param('id') id: string) {
    return this.sites.reject(user.username, id);
  }

  @Post(':id/revoke')
  @Requires('certificates:write')
  @ApiOkResponse({ type: SiteDto })
  revoke(@CurrentUser() user: Principal, @Param('id') id: string) {
    return this.sites.revoke(user.username, id);
  }
}

@ApiTags('models')
@Controller('api/models')
export class ModelsController {
  constructor(private readonly models: ModelVersionsService, private readonly exporter: ModelExportService) {}

  @Get()
  @Requires('read')
  @ApiOkResponse({ type: [ModelVersionDto], description: 'newest first' })
  async list(@Query('kind') kind?: string): Promise<ModelVersionDto[]> {
    if (kind !== undefined && kind !== 'segmenter' && kind !== 'generator') throw invalid('kind must be segmenter or generator');
    return (await this.models.list(kind)).map(mapModelVersion);
  }

  @Get(':id')
  @Requires('read')
  @ApiOkResponse({ type: ModelVersionDto })
  async get(@Param('id') id: string): Promise<ModelVersionDto> {
    return mapModelVersion(await this.models.get(id));
  }

  @Get(':id/weights.safetensors')
  @Requires('read')
  @Header('Content-Type', 'application/octet-stream')
  @ApiOkResponse({ description: 'the version\'s weights in the safetensors format' })
  async weights(@Param('id') id: string, @Res() res: Response) {
    // Streamed from the store's (verified) file: a model past 2 GiB cannot be one Buffer.
    const { row, path } = await this.models.localFile(id);
    res.setHeader('Content-Disposition', `attachment; filename="${row.id}.safetensors"`);
    res.setHeader('Content-Length', row.sizeBytes.toString());
    await pipeline(createReadStream(path), res);
  }

  @Get(':id/model.onnx')
  @Requires('read')
  @Header('Content-Type', 'application/octet-stream')
  @ApiOkResponse({ description: 'the segmenter as a self-contained ONNX inference model (weights, classes, input normalisation and lineage inside); ?opset=11..21, default the smallest that expresses it' })
  async onnx(@Param('id') id: string, @Query('opset') opset: unknown, @Res() res: Response) {
    const { onnx } = await this.exporter.export(id, parseOpset(opset));
    res.setHeader('Content-Disposition', `attachment; filename="${id}.onnx"`);
    res.end(onnx);
  }

  @Get(':id/model-card.md')
  @Requires('read')
  @Header('Content-Type', 'text/markdown; charset=utf-8')
  @ApiOkResponse({ description: 'the Markdown model card of the exported segmenter: the same facts as the metadata inside model.onnx' })
  async card(@Param('id') id: string, @Query('opset') opset: unknown, @Res() res: Response) {
    const { card } = await this.exporter.export(id, parseOpset(opset));
    res.setHeader('Content-Disposition', `attachment; filename="${id}.model-card.md"`);
    res.end(card);
  }
}

function parseOpset(raw: unknown): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw)) throw invalid(`opset must be an integer (got ${quote(raw)})`);
  return Number(raw);
}
