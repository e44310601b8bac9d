import { Controller, Get, Header, HttpCode, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { DatabaseService } from '../database/database.service';
import { Public } from '../http/auth.guard';
import { FederationGrpcServer } from '../federation/federation.grpc-server';
import { MetricsService } from './metrics.service';

/**
 * What an orchestrator and a monitoring system ask, without signing in: liveness (the process
 * answers HTTP), readiness (the database answers and the federation port is bound) and the
 * Prometheus metrics. None of them reveals more than counts; put the HTTP port behind the
 * hospital network's rules like the console (DEPLOY.md).
 */
@ApiExcludeController()
@Controller()
export class OperationsController {
  constructor(
    private readonly metrics: MetricsService,
    private readonly db: DatabaseService,
    private readonly grpc: FederationGrpcServer,
  ) {}

  @Public()
  @Get('healthz')
  @HttpCode(200)
  live() {
    return { status: 'live' };
  }

  @Public()
  @Get('readyz')
  async ready(@Res({ passthrough: true }) res: Response) {
    const checks: Record<string, string> = {};
    try {
      await this.db.ping();
      checks.database = 'ok';
    } catch (e) {
      checks.database = `unavailable: ${(e as Error).message.split('\n')[0]}`;
    }
    checks.federation = this.grpc.ports.federation ? 'ok' : 'not bound yet';
    const ready = Object.values(checks).every((v) => v === 'ok');
    res.status(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not ready', checks };
  }

  @Public()
  @Get('metrics')
  @Header('Cache-Control', 'no-store')
  async scrape(@Res() res: Response) {
    const { contentType, body } = await this.metrics.text();
    res.setHeader('Content-Type', contentType);
    res.send(body);
  }
}
