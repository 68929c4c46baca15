// Runs one bsdiff-node diff or patch in a child process of its own. Plain CommonJS so it
// loads without a TypeScript loader. A process (not a worker thread) so that the memory
// bsdiff takes is returned to the system when the job ends and a crash in native code
// fails one job instead of the server. The synchronous calls are used because the async
// ones post a progress message on every scan step, which makes them about 1.5x slower.
'use strict';
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
