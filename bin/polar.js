#!/usr/bin/env node
// Entry point of the `polar` command: runs the compiled CLI (built by `npm install` / `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(main)) {
  console.error('polar: the build is missing; run `npm run build` (npm install does it for you).');
  process.exit(1);
}
await import(main);
