import { Controller, Get, Header, Param, ParseIntPipe } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ReportsService } from '../reports/reports.service';
import { renderReportHtml } from '../reports/report-html';
import { OverlaysService } from '../reports/overlays.service';
import { PrivacyLedger } from '../privacy/privacy-ledger.service';
import { privacySectionHtml } from '../privacy/privacy-report-html';
import { ReplayReportService } from '../reports/replay-report.service';
import { Requires } from './auth.guard';
import { OverlayDto, PrivacyViewDto, ReplayReportDto, ReportsDto, RoundSeriesDto } from './responses';

@ApiTags('reports')
@Controller('api/reports')
export class ReportsController {
  constructor(private readonly reports: ReportsService, private readonly overlays: OverlaysService, private readonly privacy: PrivacyLedger, private readonly replay: ReplayReportService) {}

  /** The federated evaluation report of every completed step (JSON). */
  @Get()
  @Requires('read')
  @ApiOkResponse({ type: ReportsDto })
  async all(): Promise<ReportsDto> {
    return { steps: await this.reports.steps() };
  }

  /** Old/new/all mIoU of each evaluated segmenter round of a step (training setting evaluateEveryRound). */
  @Get('steps/:step/rounds')
  @Requires('read')
  @ApiOkResponse({ type: RoundSeriesDto })
  async roundSeries(@Param('step', ParseIntPipe) step: number): Promise<RoundSeriesDto> {
    return { step, points: await this.reports.roundSeries(step) };
  }

  /** Differential privacy: the settings and every site's (ε, δ) spent so far, per model. */
  @Get('privacy')
  @Requires('read')
  @ApiOkResponse({ type: PrivacyViewDto })
  privacySpend(): Promise<PrivacyViewDto> {
    return this.privacy.view();
  }

  /** The version's predictions on images from the generator (base64 PNGs; no patient image is involved). */
  @Get('overlays/:modelVersionId')
  @Requires('read')
  @ApiOkResponse({ type: [OverlayDto] })
  overlaysOf(@Param('modelVersionId') id: string): Promise<OverlayDto[]> {
    return this.overlays.overlays(id);
  }

  /** Per step: the sites' replay fidelity (and who skipped replay), the generator's realism and memorisation flags. */
  @Get('replay')
  @Requires('read')
  @ApiOkResponse({ type: ReplayReportDto })
  async replaySteps(): Promise<ReplayReportDto> {
    return { steps: await this.replay.steps() };
  }

  /** The same report as one self-contained HTML file. */
  @Get('report.html')
  @Requires('read')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async html() {
    return renderReportHtml(await this.reports.steps(), undefined, privacySectionHtml(await this.privacy.view()));
  }
}
