/**
 * Starting and stopping a coordinator: database (migrated), Nest application with the REST API,
 * OpenAPI document and console, and the federation's gRPC endpoint.
 */
import 'reflect-metadata';
import { join } from 'node:path';
import { Logger, ValidationPipe, type INestApplication, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SwaggerModule } from '@nestjs/swagger';
import type { CoordinatorConfig } from './config/coordinator-config';
import { openDatabase } from './database/database';
import { CoordinatorModule } from './app.module';
import type { ModelFactory } from './models/model-factory';
import type { Clock } from './common/tokens';
import { FederationGrpcServer } from './federation/federation.grpc-server';
import { TextPipe } from './http/text.pipe';
import { openApiDocument } from './http/openapi';
import { CoordinatorLogger, logFormatFor } from './operations/logger';
import { requestIdMiddleware } from './operations/request-id';

export interface RunningCoordinator {
  app: INestApplication;
  httpUrl: string;
  grpcPort: number;
  enrollPort?: number;
  close(): Promise<void>;
}

export async function startCoordinator(
  config: CoordinatorConfig,
  factory: ModelFactory,
  options: { clock?: Clock; logLevels?: LogLevel[] } = {},
): Promise<RunningCoordinator> {
  const logger = new CoordinatorLogger({ format: logFormatFor(process.env, process.stdout.isTTY === true), levels: options.logLevels });
  Logger.overrideLogger(logger);
  const database = await openDatabase({ url: config.databaseUrl, dataDir: join(config.dataDir, 'db') });
  if (database.migrations.applied.length) new Logger('Database').log(`applied migrations: ${database.migrations.applied.join(', ')}`);
  let app: INestApplication;
  try {
    app = await NestFactory.create(CoordinatorModule.forRoot(config, { database, factory, clock: options.clock }), {
      logger,
    });
  } catch (e) {
    await database.close();
    throw e;
  }
  app.use(requestIdMiddleware(logger));
  // Text bounds first (NUL, unpaired surrogates, lengths), then the DTOs' field rules.
  app.useGlobalPipes(new TextPipe(), new ValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true }));
  app.enableShutdownHooks();
  SwaggerModule.setup('api/docs', app, openApiDocument(app), { jsonDocumentUrl: 'api/openapi.json' });
  await app.listen(config.httpPort, config.httpHost);
  const address = app.getHttpServer().address() as { port: number };
  const grpc = app.get(FederationGrpcServer);
  return {
    app,
    httpUrl: `http://${config.httpHost}:${address.port}`,
    grpcPort: grpc.ports.federation!,
    enrollPort: grpc.ports.enrollment,
    close: () => app.close(),
  };
}
