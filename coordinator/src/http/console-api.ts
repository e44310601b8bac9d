import openapiTS, { astToString } from 'openapi-typescript';
import { offlineOpenApiDocument } from './openapi';

/** Where the console's generated API types live (committed, like proto's generated code). */
export const CONSOLE_API_FILE = 'coordinator/console/src/generated/api.ts';

const HEADER = `// Generated from the coordinator's OpenAPI document (coordinator/src/http/responses.ts and the
// controllers) by \`npm run generate:console-api -w coordinator\`. Do not edit: change the DTOs and
// regenerate; coordinator/src/http/console-api.test.ts fails while this file is out of date.
`;

/** The console's API types, rendered from the current controllers and DTOs. */
export async function renderConsoleApiTypes(): Promise<string> {
  const document = await offlineOpenApiDocument();
  const ast = await openapiTS(JSON.parse(JSON.stringify(document)));
  return HEADER + astToString(ast);
}
