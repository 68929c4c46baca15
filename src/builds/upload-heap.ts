// V8's old generation given room to grow while an upload streams in, then handed back to
// V8's own sizing. An upload's body arrives as a fresh 64 KiB Buffer per socket read
// (Node's HTTP parser copies each), and the few still held when a young collection runs
// are promoted: the old generation grows a little with every few MB. On the server's
// small heap (about 21 MB live) V8 sized the old generation's limit at 1.8-2x that after
// each full collection, leaving 17-23 MB of room, less than its young generation (32 MB
// at most), and V8 starts marking whenever the room left is less than that: a full
// collection every 150-300 ms, one after another, for the whole upload (--trace-gc:
// 95-147 mark-compacts over a bench:pipeline run, "Start (allocation limit)" in
// --trace-incremental-marking). That cost a 200 MB upload about 1 ms of V8's threads and
// 0.5 ms more of its event loop per MB, on 2 cores that the upload also needed.
// With the limit at 4x the live heap after a collection (--heap-growing-percent=300) the
// room left is larger than the young generation and the marking stops (3 mark-compacts
// per run with 3x). 4x, not 3x: it is the most V8's own factor reaches, so no workload is
// collected more often than V8 would (a fixed 3x did, 9 full collections to 1, in a
// process whose V8 factor was higher). The flag is read at each full collection, so it is set while any upload is
// under way and reset when the last ends: a server that is not receiving an upload keeps
// V8's sizing (the DM path's memory is as before). A growing factor the user gave node
// is left alone.
import { setFlagsFromString } from 'node:v8';

/** After a full collection during an upload, the old generation may grow to 4x what survived. */
export const UPLOAD_HEAP_GROWING_PERCENT = 300;
const GROWING_FLAG = /^--heap[-_]growing[-_]percent\b/;

let uploads = 0;

/**
 * Widens the old generation's limit until the returned function is called (once per
 * call; later calls do nothing). Nested and concurrent uploads share it: V8's own sizing
 * comes back when the last one ends.
 */
export function roomForUpload(execArgv: readonly string[] = process.execArgv): () => void {
  if (execArgv.some((arg) => GROWING_FLAG.test(arg))) return () => {};
  if (uploads === 0) setFlagsFromString(`--heap-growing-percent=${UPLOAD_HEAP_GROWING_PERCENT}`);
  uploads += 1;
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    uploads -= 1;
    // 0 is V8's default: the factor it computes from its collections' speed.
    if (uploads === 0) setFlagsFromString('--heap-growing-percent=0');
  };
}
