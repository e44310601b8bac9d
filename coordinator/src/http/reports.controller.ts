import { Controller, Get, Header } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ReportsService } from '../reports/reports.service';
import { renderReportHtml } from '../reports/report-html';
import { Requires } from './auth.guard';

@ApiTags('reports')
@Controller('api/reports')
export class ReportsController {
  constructor(private readonly reports: ReportsService) {}

  /** The federated evaluation report of every completed step (JSON). */
  @Get()
  @Requires('read')
  async all() {
    return { steps: await this.reports.steps() };
  }

  /** The same report as one self-contained HTML file. */
  @Get('report.html')
  @Requires('read')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async html() {
    return renderReportHtml(await this.reports.steps());
  }
}
