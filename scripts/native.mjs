// Builds the sendfile addon (native/sendfile, used by src/download/sendfile.ts) with the
// node-gyp that comes with npm. Without it fota still works: downloads are then copied
// through JavaScript, at about 1.6 times the CPU per GiB (bench:download: 0.37-0.39
// against 0.22-0.26 CPU s), and the server says so in its log at start. So a failed build warns and never fails the install.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

const SOURCES = ['sendfile.c', 'binding.gyp'];

/** node-gyp as npm runs it for packages' install scripts, or undefined. */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    // npm next to this node (a Debian or nodejs.org layout), when run outside npm.
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((path) => path && existsSync(path));
}

/** Builds native/sendfile unless its addon is newer than its sources; returns true when it is there. */
export function buildNative(root) {
  if (process.platform !== 'linux') return false;
  const dir = join(root, 'native', 'sendfile');
  const addon = join(dir, 'build', 'Release', 'fota_sendfile.node');
  if (existsSync(addon) && SOURCES.every((file) => statSync(join(dir, file)).mtimeMs <= statSync(addon).mtimeMs)) return true;
  const gyp = nodeGyp();
  const fallback = 'downloads will be copied through JavaScript (more CPU per byte)';
  if (!gyp) {
    console.warn(`fota build: node-gyp not found, the sendfile addon is not built; ${fallback}`);
    return false;
  }
  // Node's own headers when they are installed beside it: node-gyp would otherwise fetch
  // them from nodejs.org (npm passes its `nodedir` setting, if any, in npm_config_nodedir).
  const prefix = join(dirname(process.execPath), '..');
  const headers = !process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
  const result = spawnSync(process.execPath, [gyp, 'rebuild', '--directory', dir, ...headers], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (result.status !== 0 || !existsSync(addon)) {
    const lines = `${result.stdout ?? ''}\n${result.stderr ?? ''}`.trim().split('\n');
    // The compiler's own complaints say what is missing; node-gyp's summary does not.
    const errors = lines.filter((line) => /error/i.test(line) && !line.startsWith('gyp ERR!'));
    const why = (errors.length > 0 ? errors : lines).slice(0, 5).join('\n');
    console.warn(`fota build: the sendfile addon did not build (it needs python3, make and a C compiler); ${fallback}\n${why}`);
    return false;
  }
  return true;
}
