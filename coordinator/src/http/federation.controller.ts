import { Body, Controller, Get, Header, Param, ParseIntPipe, Patch, Post, Query, Res, Sse, type MessageEvent } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { map, type Observable } from 'rxjs';
import type { Principal } from '../auth/admin-auth.service';
import { RosterService } from '../roster/roster.service';
import { SitesService } from '../sites/sites.service';
import { ModelVersionsService } from '../models/model-versions.service';
import { ModelExportService } from '../models/model-export.service';
import { RoundsService } from '../federation/rounds.service';
import { ProgressHub } from '../federation/progress-hub';
import { AuditService } from '../audit/audit.service';
import { DatabaseService } from '../database/database.service';
import { invalid } from '../common/errors';
import { AddClassesDto, ArchiveDto } from './dtos';
import { CurrentUser, Public, Requires } from './auth.guard';
import { mapModelVersion, mapRound, mapStep, mapUpdate } from './views';

@ApiTags('roster')
@Controller('api/roster')
export class RosterController {
  constructor(private readonly roster: RosterService) {}

  @Get()
  @Requires('read')
  list() {
    return this.roster.list();
  }

  /** Adds classes; this opens the next incremental step. */
  @Post('classes')
  @Requires('roster:write')
  add(@CurrentUser() user: Principal, @Body() body: AddClassesDto) {
    return this.roster.addClasses(user.username, body.classes);
  }

  @Patch('classes/:id')
  @Requires('roster:write')
  archive(@CurrentUser() user: Principal, @Param('id', ParseIntPipe) id: number, @Body() body: ArchiveDto) {
    return this.roster.setArchived(user.username, id, body.archived);
  }
}

@ApiTags('federation')
@Controller('api')
export class FederationController {
  constructor(
    private readonly db: DatabaseService,
    private readonly rounds: RoundsService,
    private readonly progress: ProgressHub,
    private readonly audit: AuditService,
  ) {}

  @Get('steps')
  @Requires('read')
  async steps() {
    const steps = await this.db.prisma.step.findMany({ orderBy: { index: 'asc' }, include: { rounds: { orderBy: { openedAt: 'asc' } } } });
    return steps.map(mapStep);
  }

  @Get('rounds')
  @Requires('read')
  async rounds_(@Query('step') step?: string) {
    // Step indexes are 32-bit integers in the database: a longer number is refused here, not by Prisma (a 500).
    if (step !== undefined && !(/^\d{1,10}$/.test(step) && Number(step) <= 2 ** 31 - 1)) throw invalid('step must be a non-negative 32-bit integer');
    return (await this.rounds.list(step === undefined ? undefined : Number(step))).map(mapRound);
  }

  /** Everything the console's overview shows, in one call. */
  @Get('overview')
  @Requires('read')
  async overview() {
    const step = await this.db.prisma.step.findFirst({ orderBy: { index: 'desc' } });
    const round = step ? await this.db.prisma.round.findFirst({ where: { stepIndex: step.index }, orderBy: { openedAt: 'desc' } }) : null;
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
  auditLog(@Query('limit') limit?: string) {
    if (limit !== undefined && !/^\d{1,4}$/.test(limit)) throw invalid('limit must be an integer between 1 and 1000');
    return this.audit.recent(limit ? Number(limit) || 100 : 100);
  }

  @Get('health')
  @Public()
  health() {
    return { ok: true, database: this.db.kind };
  }
}

@ApiTags('sites')
@Controller('api/sites')
export class SitesController {
  constructor(private readonly sites: SitesService, private readonly db: DatabaseService) {}

  @Get()
  @Requires('read')
  async list() {
    const sites = await this.sites.list();
    const samples = await this.db.prisma.siteUpdate.groupBy({ by: ['siteId'], where: { status: 'accepted' }, _sum: { realImages: true, replayImages: true }, _count: true });
    const rejected = await this.db.prisma.siteUpdate.groupBy({ by: ['siteId'], where: { status: 'rejected' }, _count: true });
    return sites.map((s) => {
      const a = samples.find((x) => x.siteId === s.id);
      return {
        ...s,
        acceptedUpdates: a?._count ?? 0,
        realImagesContributed: a?._sum.realImages ?? 0,
        replayImagesContributed: a?._sum.replayImages ?? 0,
        rejectedUpdates: rejected.find((x) => x.siteId === s.id)?._count ?? 0,
      };
    });
  }

  @Get(':id/updates')
  @Requires('read')
  async updates(@Param('id') id: string) {
    await this.sites.get(id);
    return (await this.db.prisma.siteUpdate.findMany({ where: { siteId: id }, orderBy: { createdAt: 'desc' }, take: 200 })).map(mapUpdate);
  }

  @Post(':id/approve')
  @Requires('sites:write')
  approve(@CurrentUser() user: Principal, @Param('id') id: string) {
    return this.sites.approve(user.username, id);
  }

  @Post(':id/reject')
  @Requires('sites:write')
  reject(@CurrentUser() user: Principal, @Param('id') id: string) {
    return this.sites.reject(user.username, id);
  }

  @Post(':id/revoke')
  @Requires('certificates:write')
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
  async list(@Query('kind') kind?: string) {
    if (kind !== undefined && kind !== 'segmenter' && kind !== 'generator') throw invalid('kind must be segmenter or generator');
    return (await this.models.list(kind)).map(mapModelVersion);
  }

  @Get(':id')
  @Requires('read')
  async get(@Param('id') id: string) {
    return mapModelVersion(await this.models.get(id));
  }

  @Get(':id/weights.safetensors')
  @Requires('read')
  @Header('Content-Type', 'application/octet-stream')
  @ApiOkResponse({ description: 'the version\'s weights in the safetensors format' })
  async weights(@Param('id') id: string, @Res() res: Response) {
    const { row, bytes } = await this.models.bytes(id);
    res.setHeader('Content-Disposition', `attachment; filename="${row.id}.safetensors"`);
    res.end(bytes);
  }

  @Get(':id/model.onnx')
  @Requires('read')
  @Header('Content-Type', 'application/octet-stream')
  @ApiOkResponse({ description: 'the segmenter as a self-contained ONNX inference model' })
  async onnx(@Param('id') id: string, @Res() res: Response) {
    const bytes = await this.exporter.onnx(id);
    res.setHeader('Content-Disposition', `attachment; filename="${id}.onnx"`);
    res.end(bytes);
  }
}
