// Writes the console's API types (npm run generate:console-api -w coordinator, after a build).
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONSOLE_API_FILE, renderConsoleApiTypes } from './console-api';

void renderConsoleApiTypes().then((text) => {
  const file = join(__dirname, '..', '..', '..', CONSOLE_API_FILE);
  writeFileSync(file, text);
  process.stdout.write(`wrote ${file}\n`);
});
