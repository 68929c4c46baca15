// Runs one bsdiff-node diff or patch in a child process of its own. Plain CommonJS so it
// loads without a TypeScript loader. A process (not a worker thread) so that the memory
// bsdiff takes is returned to the system when the job ends and a crash in native code
// fails one job instead of the server. The synchronous calls are used because the async
// ones post a progress message on every scan step, which makes them about 1.5x slower.
//
// The child must not outlive the server that forked it: a server killed with SIGKILL
// cannot kill its children, and its job is claimed again after the lease, so an orphan
// would run the same diff a second time beside the new one (and take its memory). Linux's
// PR_SET_PDEATHSIG is not reachable from Node, and while diffSync runs this thread runs
// no JavaScript, so the IPC channel's 'disconnect' event cannot be seen until the diff
// is over. A small watchdog thread therefore watches the parent pid (it changes when the
// parent dies and the child is re-parented) and kills the whole process from there.
'use strict';
const { Worker, isMainThread, workerData } = require('node:worker_threads');

/** How often the watchdog looks at the parent pid: cheap, and well below a diff's length. */
const WATCH_EVERY_MS = 200;

if (isMainThread) runJob();
else watchParent(workerData.parentPid);

function runJob() {
  // Idle or between jobs the event loop runs, and the IPC channel tells us directly.
  process.once('disconnect', () => process.exit(1));
  // The parent may have died before this process got this far; then ppid is already the
  // new parent, and only the closed channel tells.
  if (!process.connected) process.exit(1);
  startWatchdog();
  const bsdiff = require('bsdiff-node');
  process.once('message', (job) => {
    try {
      if (job.op === 'diff') bsdiff.diffSync(job.oldPath, job.newPath, job.patchPath);
      else if (job.op === 'patch') bsdiff.patchSync(job.oldPath, job.newPath, job.patchPath);
      else throw new Error(`unknown operation ${job.op}`);
      process.send({ ok: true, maxRssBytes: process.resourceUsage().maxRSS * 1024 }, () => process.exit(0));
    } catch (err) {
      process.send({ ok: false, message: err instanceof Error ? err.message : String(err) }, () => process.exit(1));
    }
  });
}

function startWatchdog() {
  const watchdog = new Worker(__filename, { workerData: { parentPid: process.ppid } });
  // It must not keep the process alive once the job is done.
  watchdog.unref();
  // Without a watchdog the job is still worth running: say so (stderr reaches the
  // server's error message if the job fails) and carry on.
  watchdog.on('error', (err) => process.stderr.write(`bsdiff watchdog stopped: ${err instanceof Error ? err.message : String(err)}\n`));
}

function watchParent(parentPid) {
  setInterval(() => {
    // process.exit() here would end only this thread; SIGKILL ends the native diff too.
    if (process.ppid !== parentPid) process.kill(process.pid, 'SIGKILL');
  }, WATCH_EVERY_MS);
}
