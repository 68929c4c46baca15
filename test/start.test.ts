// start.ts wires the context's signals to the background workers once. The job runner
// hears jobs-queued: an upload's package jobs start at once, although this runner would
// not look for work on its own for an hour.
import { describe, expect, it } from 'vitest';
import { pseudoRandom } from './support/harness.ts';
import { startTestServer } from './support/server.ts';

describe('startServer', () => {
  it('wakes the job runner when an upload queues jobs, instead of leaving them to its next poll', async () => {
    const server = await startTestServer({}, { runner: { leaseMs: 5_000, pollMs: 3_600_000 } });
    const res = await server.api('/api/v1/builds?model=woken&version=1.0', { method: 'POST', token: server.tokens.acme, body: pseudoRandom(20_000, 'woken') });
    expect(res.status).toBe(202);
    const build = await server.settled(((await res.json()) as { id: string }).id, 15_000);
    expect(build.status).toBe('ready');
  });
});
