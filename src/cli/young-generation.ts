// The server's young generation (V8's new space, where objects start) kept at its initial
// size while `fota serve` loads and opens its store, then left to grow as V8 decides.
// V8 doubles the new space whenever as many bytes as it holds survived collections since
// it last grew. Loading the server's modules is nearly all survivors (code, module
// records, schemas), so without this the new space grew from 2 to 16 MiB before the first
// request: 12 MiB of RSS at start that an idle or lightly loaded server never needed
// (bench/startup.ts). `npm start` capped it instead with --max-semi-space-size=2, for the
// whole life of the process: under DM load that cap meant several times more young
// collections. Here the cap lasts only until the server listens; under load the new space
// grows again within a few thousand DM sessions.
import { setFlagsFromString } from 'node:v8';

/** V8's own value of --semi-space-growth-factor (node --v8-options). */
const V8_DEFAULT_GROWTH_FACTOR = 2;
const GROWTH_FLAG = /^--semi[-_]space[-_]growth[-_]factor\b/;

/**
 * Stops the new space from growing; the returned function lets it grow again. A growth
 * factor the user gave node themselves is left alone, both ways.
 */
export function holdYoungGeneration(execArgv: readonly string[] = process.execArgv): () => void {
  if (execArgv.some((arg) => GROWTH_FLAG.test(arg))) return () => {};
  setFlagsFromString('--semi-space-growth-factor=1');
  return () => setFlagsFromString(`--semi-space-growth-factor=${V8_DEFAULT_GROWTH_FACTOR}`);
}
