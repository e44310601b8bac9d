import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { Leadership, StandbyGuard } from './leadership';
import { join } from 'node:path';
import type { CoordinatorConfig } from './config/coordinator-config';
import { BLOB_STORE, CLOCK, CONFIG, MODEL_FACTORY, systemClock, type Clock } from './common/tokens';
import type { Database } from './database/database';
import { DatabaseService } from './database/database.service';
import { LocalBlobStore } from './model-store/local-blob-store';
import type { ModelFactory } from './models/model-factory';
import { ModelVersionsService } from './models/model-versions.service';
import { ModelExportService } from './models/model-export.service';
import { AuditService } from './audit/audit.service';
import { AdminAuthService } from './auth/admin-auth.service';
import { RosterService } from './roster/roster.service';
import { SitesService } from './sites/sites.service';
import { SiteCertificates } from './sites/site-certificates';
import { SiteIdentity } from './sites/site-identity';
import { InvitationsService } from './sites/invitations.service';
import { GlobalModels } from './federation/global-models';
import { StepsService } from './federation/steps.service';
import { SerialQueue } from './common/serial-queue';
import { TaskBuilder } from './federation/task-builder.service';
import { SiteEvents } from './federation/site-events.service';
import { RoundClock } from './federation/round-clock.service';
import { RoundDecisions } from './federation/round-decisions.service';
import { RoundAggregator } from './federation/round-aggregator.service';
import { EndpointFusion } from './federation/endpoint-fusion.service';
import { ServerDistillation } from './federation/server-distillation.service';
import { RoundOpener } from './federation/round-opener.service';
import { StepStrategies } from './federation/step-strategies';
import { AggregationStates } from './federation/aggregation-states';
import { RoundsRepository } from './federation/repositories/rounds.repository';
import { StepsRepository } from './federation/repositories/steps.repository';
import { UpdatesRepository } from './federation/repositories/updates.repository';
import { ServerStateRepository } from './federation/repositories/server-state.repository';
import { RosterRepository } from './roster/roster.repository';
import { PrivacyLedger } from './privacy/privacy-ledger.service';
import { SecureAggregationService } from './privacy/secure-aggregation.service';
import { AdaptiveClipService } from './privacy/adaptive-clip.service';
import { UploadsService } from './federation/uploads.service';
import { ProgressHub } from './federation/progress-hub';
import { RateLimiter } from './federation/rate-limiter';
import { FederationGrpcServer } from './federation/federation.grpc-server';
import { EvaluationsService } from './reports/evaluations.service';
import { ReportsService } from './reports/reports.service';
import { OverlaysService } from './reports/overlays.service';
import { ReplayReportService } from './reports/replay-report.service';
import { ReportsController } from './http/reports.controller';
import { AuthGuard } from './http/auth.guard';
import { DomainErrorsFilter } from './http/domain-errors.filter';
import { AuthController } from './http/auth.controller';
import { ConsoleModule } from './http/console.module';
import { FederationController, ModelsController, RosterController, SitesController } from './http/federation.controller';
import { MetricsService } from './operations/metrics.service';
import { OperationsController } from './operations/operations.controller';
import { InvitationsController } from './http/invitations.controller';
import { UsersController } from './http/users.controller';
import { UsersService } from './auth/users.service';

export interface CoordinatorDeps {
  database: Database;
  factory: ModelFactory;
  clock?: Clock;
}

/** Every REST controller (the route-access test walks this list). */
export const CONTROLLERS = [AuthController, RosterController, FederationController, InvitationsController, SitesController, ModelsController, ReportsController, OperationsController, UsersController];

/** The whole coordinator: one module, providers grouped by feature folder. */
@Module({})
export class CoordinatorModule {
  static forRoot(config: CoordinatorConfig, deps: CoordinatorDeps): DynamicModule {
    const values: Provider[] = [
      { provide: CONFIG, useValue: config },
      { provide: CLOCK, useValue: deps.clock ?? systemClock },
      { provide: MODEL_FACTORY, useValue: deps.factory },
      { provide: BLOB_STORE, useValue: new LocalBlobStore(join(config.dataDir, 'models')) },
      { provide: DatabaseService, useValue: new DatabaseService(deps.database) },
      { provide: APP_GUARD, useClass: AuthGuard },
      { provide: APP_GUARD, useClass: StandbyGuard },
      { provide: APP_FILTER, useClass: DomainErrorsFilter },
    ];
    return {
      module: CoordinatorModule,
      imports: [ConsoleModule],
      controllers: CONTROLLERS,
      providers: [
        ...values,
        AuditService, AdminAuthService, ModelVersionsService, ModelExportService, RosterService, SitesService, SiteCertificates, SiteIdentity,
        RoundsRepository, StepsRepository, UpdatesRepository, ServerStateRepository, RosterRepository,
        SerialQueue, TaskBuilder, SiteEvents, RoundClock, RoundDecisions, RoundAggregator, ServerDistillation, EndpointFusion, RoundOpener, StepStrategies, AggregationStates,
        GlobalModels, StepsService, UploadsService, ProgressHub, RateLimiter, FederationGrpcServer, EvaluationsService, ReportsService, OverlaysService, ReplayReportService,
        MetricsService, InvitationsService, UsersService, PrivacyLedger, SecureAggregationService, AdaptiveClipService, Leadership,
      ],
    };
  }
}
