#!/usr/bin/env node
// Entry point of the `fota` command. It runs the JavaScript that `npm install` / `npm ci`
// compiled into dist/ (the `prepare` script, scripts/build.mjs), so nothing is compiled at
// run time: faster to start, and a server without a TypeScript compiler in its memory.
// It runs the TypeScript sources through tsx instead, with one line on stderr saying so,
// when dist/ is missing or a file under src/ is newer than the build (a developer who
// edited src/ and did not rebuild gets the code they wrote, never a stale build), and
// silently when FOTA_FROM_SOURCE=1 (the tests, which must run the current sources).
import { readdirSync, statSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const main = await (process.env.FOTA_FROM_SOURCE === '1' ? fromSource() : fromBuild());
process.exitCode = await main(process.argv.slice(2));

async function fromBuild() {
  const why = staleness();
  if (why) {
    process.stderr.write(`fota: ${why}; running from source through tsx (npm run build to start fast again)\n`);
    return fromSource();
  }
  return (await import(new URL('dist/cli/main.js', root).href)).main;
}

async function fromSource() {
  const { register } = await import('tsx/esm/api');
  register();
  return (await import(new URL('src/cli/main.ts', root).href)).main;
}

/** Why dist/ cannot be trusted, or undefined when it can. */
function staleness() {
  let built;
  try {
    built = statSync(new URL('dist/.built', root)).mtimeMs;
  } catch {
    return 'no build in dist/';
  }
  const newer = newerThan(new URL('src/', root), built);
  return newer ? `src/${newer} is newer than the build in dist/` : undefined;
}

/** The first file under dir (a path relative to it) changed after `time`. */
function newerThan(dir, time, prefix = '') {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const url = new URL(entry.name + (entry.isDirectory() ? '/' : ''), dir);
    if (entry.isDirectory()) {
      const found = newerThan(url, time, `${prefix}${entry.name}/`);
      if (found) return found;
    } else if (statSync(url).mtimeMs > time) {
      return prefix + entry.name;
    }
  }
  return undefined;
}
