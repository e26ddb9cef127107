#!/usr/bin/env node
// The `livefx` command: a thin launcher for the compiled CLI in dist/cli.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('livefx: the CLI is not built yet (dist/cli/main.js is missing): run `npm run build` first\n');
  process.exit(1);
}
const { runCli, processContext } = await import(entry.href);
const { context, dispose } = processContext();
const code = await runCli(process.argv.slice(2), context);
dispose();
// Exit now: a transform's helper thread or handle must not keep a finished render alive.
process.exit(code);
