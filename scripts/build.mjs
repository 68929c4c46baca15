// Builds the sendfile addon (native.mjs), then compiles src/ to dist/ (npm run build;
// `prepare` runs it on npm install and npm ci), so the `fota` command and the server
// start without compiling TypeScript at run time.
// tsc rewrites `./x.ts` imports to `./x.js` (rewriteRelativeImportExtensions); the files
// src/ reads at run time next to its modules (migrations, the bsdiff child process) are
// copied beside the output. dist/.built is written last: bin/fota.js runs dist/ only when
// no file under src/ is newer than it. The build leaves out comments (removeComments in
// tsconfig.build.json): V8 keeps the source text of every module it loads for as long as
// the process runs, and comments were over a quarter of the server's (190 of 700 KB).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildNative } from './native.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const dist = join(root, 'dist');

// First, and whether or not TypeScript is installed: the sources run with it too.
buildNative(root);

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  // An install without devDependencies (npm ci --omit=dev): no compiler, so no build;
  // bin/fota.js then runs the sources through tsx, as it says on stderr.
  console.warn('fota build: typescript is not installed; skipping (fota will run from source through tsx)');
  process.exit(0);
}

rmSync(dist, { recursive: true, force: true });
const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (result.status !== 0) {
  rmSync(dist, { recursive: true, force: true });
  process.exit(result.status ?? 1);
}

/** Everything under src/ that is not TypeScript and not documentation. */
function assets(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return assets(path);
    return /\.(ts|tsx|md)$/.test(entry.name) ? [] : [path];
  });
}
for (const file of assets(src)) cpSync(file, join(dist, relative(src, file)));
if (!existsSync(join(dist, 'cli', 'main.js'))) throw new Error('fota build: dist/cli/main.js is missing');
writeFileSync(join(dist, '.built'), `${new Date().toISOString()}\n`);
