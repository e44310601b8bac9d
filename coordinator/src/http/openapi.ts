import { Module, type DynamicModule, type INestApplication, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { CONTROLLERS } from '../app.module';

/** The REST API's OpenAPI document, as served at /api/openapi.json. */
export function openApiDocument(app: INestApplication): OpenAPIObject {
  return SwaggerModule.createDocument(
    app,
    new DocumentBuilder().setTitle('fedciss coordinator').setDescription('Roster, steps, rounds, sites, model versions and federated evaluation reports.').setVersion('1').addBearerAuth().build(),
  );
}

/**
 * Only the controllers, for their routes and DTOs: in preview mode Nest resolves the graph but
 * instantiates nothing, so each service a controller takes is named and never built.
 */
@Module({})
class RestSurface {
  static withControllers(): DynamicModule {
    const services = new Set<Type>(CONTROLLERS.flatMap((c) => (Reflect.getMetadata('design:paramtypes', c) ?? []) as Type[]));
    return { module: RestSurface, controllers: CONTROLLERS, providers: [...services].map((s) => ({ provide: s, useValue: null })) };
  }
}

/** The same document without a database or a server: for generating the console's types. */
export async function offlineOpenApiDocument(): Promise<OpenAPIObject> {
  const app = await NestFactory.create(RestSurface.withControllers(), { preview: true, logger: false, abortOnError: false });
  try {
    return openApiDocument(app);
  } finally {
    await app.close();
  }
}
