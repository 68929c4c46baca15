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
//
// The parent passes its pid as the first argument: a parent that dies while this process
// is still starting has already left it re-parented, so process.ppid read here would be
// the new parent, and the job the dead parent had queued on the channel would still run.
'use strict';
const { Worker, isMainThread, workerData } = require('node:worker_threads');

/** How often the watchdog looks at the parent pid: cheap, and well below a diff's length. */
const WATCH_EVERY_MS = 200;

if (isMainThread) runJob(parentPidArgument());
else watchParent(workerData.parentPid);

function parentPidArgument() {
  const pid = Number(process.argv[2]);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`bsdiff-process.cjs needs its parent's pid as first argument, got ${process.argv[2]}`);
  return pid;
}

function runJob(parentPid) {
  // Idle, the event loop runs and the IPC channel tells us directly.
  process.once('disconnect', () => process.exit(1));
  if (process.ppid !== parentPid) process.exit(1);
  startWatchdog(parentPid);
  const bsdiff = require('bsdiff-node');
  process.once('message', (job) => {
    // A job sent just before the parent died is still read from the channel: not worth running.
    if (process.ppid !== parentPid) process.exit(1);
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

function startWatchdog(parentPid) {
  const watchdog = new Worker(__filename, { workerData: { parentPid } });
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
