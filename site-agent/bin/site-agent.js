#!/usr/bin/env node
// Thin launcher: the program is compiled TypeScript in dist/ (npm run build at the repository root).
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const main = join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!existsSync(main)) {
  console.error('site-agent is not built yet: run "npm run build" in the repository root first.');
  process.exit(1);
}
require(main).main(process.argv).catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
