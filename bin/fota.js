#!/usr/bin/env node
// Entry point of the `fota` command: loads the TypeScript sources through tsx, so the
// command works straight after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
