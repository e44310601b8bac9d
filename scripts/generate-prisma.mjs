// Generates the Prisma client (coordinator/src/generated/prisma) from prisma/schema.prisma.
// Prisma 7's CLI wants its schema engine binary for every command and tries to download it; client
// generation itself is WebAssembly and needs no engine, so point the variable at any existing file.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
execFileSync(process.execPath, [require.resolve('prisma/build/index.js'), 'generate'], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
});
