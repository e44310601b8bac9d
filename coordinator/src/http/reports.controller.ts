import { Controller, Get, Header, Param } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ReportsService } from '../reports/reports.service';
import { renderReportHtml } from '../reports/report-html';
import { OverlaysService } from '../reports/overlays.service';
import { PrivacyLedger } from '../privacy/privacy-ledger.service';
import { privacySectionHtml } from '../privacy/privacy-report-html';
import { ReplayReportService } from '../reports/replay-report.service';
import { Requires } from './auth.guard';

@ApiTags('reports')
@Controller('api/reports')
export class ReportsController {
  constructor(private readonly reports: ReportsService, private readonly overlays: OverlaysService, private readonly privacy: PrivacyLedger, private readonly replay: ReplayReportService) {}

  /** The federated evaluation report of every completed step (JSON). */
  @Get()
  @Requires('read')
  async all() {
    return { steps: await this.reports.steps() };
  }

  /** Differential privacy: the settings and every site's (ε, δ) spent so far, per model. */
  @Get('privacy')
  @Requires('read')
  privacySpend() {
    return this.privacy.view();
  }

  /** The version's predictions on images from the generator (base64 PNGs; no patient image is involved). */
  @Get('overlays/:modelVersionId')
  @Requires('read')
  overlaysOf(@Param('modelVersionId') id: string) {
    return this.overlays.overlays(id);
  }

  /** Per step: the sites' replay fidelity (and who skipped replay), the generator's realism and memorisation flags. */
  @Get('replay')
  @Requires('read')
  async replaySteps() {
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
