// The demo's enrollment story: an operator creates a batch of new devices that leave the
// factory on one shared claim credential, takes its one export (bootstrap files and a CSV
// manifest) into the demo's directory, and the devices start from those files alone. Each
// first DM session replaces the claim with the device's own credentials; afterwards the
// demo checks, as an attacker holding the claim would, that the claim opens no session.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DmClient } from '../device/dm-client.ts';
import { readExport } from '../device/simulate/bootstrap.ts';
import { Fleet, type FleetOptions } from '../device/simulate/fleet.ts';
import { DmTree } from '../device/tree.ts';
import { batchExportSchema, batchViewSchema, type BatchView } from '../enroll/schemas.ts';
import { readDmBootstrap } from '../omadm/provisioning/dm-bootstrap.ts';
import { callServer, type Client } from './client.ts';
import { writeExportFiles } from './enroll.ts';

export interface DemoEnrollment {
  batch: BatchView;
  fleet: Fleet;
  /** Where the export was written (manifest.csv and devices/). */
  exportDir: string;
}

export interface EnrollmentSummary {
  batch: string;
  claim: string;
  devices: number;
  /** Devices the server counts as enrolled (own credentials, off the claim), read from the API. */
  enrolled: number;
  awaitingClaim: number;
  /** Devices for which a DM session on the claim credential was refused (401) after enrollment. */
  claimRefusedAfter: number;
  exportDir: string;
}

/** Creates the batch, exports it into `dir` and starts its devices from their bootstrap files. */
export async function startEnrollment(
  operator: Client,
  options: { dir: string; count: number; model: string; version: string; image: string; manufacturer: string; trust: FleetOptions['trust']; tag: string },
  say: (line: string) => void,
): Promise<DemoEnrollment> {
  const claim = 'demo-factory-claim';
  const batch = await callServer(operator, 'POST', '/api/v1/enrollments', batchViewSchema, {
    json: { name: 'demo factory lot', model: options.model, count: options.count, claim: { name: claim }, tags: [options.tag] },
  });
  const exportDir = join(options.dir, 'enrollment-export');
  const exported = await callServer(operator, 'POST', `/api/v1/enrollments/${encodeURIComponent(batch.id)}/export`, batchExportSchema);
  await writeExportFiles(exportDir, exported.files);
  say(`enrollment batch ${batch.id}: ${batch.size} new devices on claim ${claim}; bootstrap files exported to ${exportDir}`);
  const flashed = await readExport(exportDir);
  const fleet = await Fleet.create({
    server: operator.server,
    devices: flashed.ids.length,
    model: options.model,
    version: options.version,
    image: options.image,
    manufacturer: options.manufacturer,
    trust: options.trust,
    dataDir: join(options.dir, 'fleet-enrolled'),
    bootstrap: flashed,
    register: false,
    webhook: false,
    pollSeconds: 20,
    firstPollSeconds: 0.2,
    concurrency: 8,
    retryDelayMs: 200,
  });
  fleet.start();
  return { batch, fleet, exportDir };
}

/** Waits (up to `timeoutMs`) for every device of the batch to enroll, then tries the claim once per device. */
export async function finishEnrollment(operator: Client, enrollment: DemoEnrollment, timeoutMs: number): Promise<EnrollmentSummary> {
  const { batch, exportDir } = enrollment;
  const until = performance.now() + timeoutMs;
  let now = batch;
  for (;;) {
    now = await callServer(operator, 'GET', `/api/v1/enrollments/${encodeURIComponent(batch.id)}`, batchViewSchema);
    if (now.devices.enrolled >= now.size || performance.now() > until) break;
    await sleep(250);
  }
  const flashed = await readExport(exportDir);
  let refused = 0;
  for (const [devId, file] of flashed.files) {
    const { account } = readDmBootstrap(await readFile(file));
    const client = new DmClient({ serverUrl: account.address, devId, username: account.client.name, password: account.client.secret });
    const fixed = { './DevInfo/DevId': { data: devId, format: 'chr' as const }, './DevInfo/Mod': { data: batch.model, format: 'chr' as const } };
    // A session the claim still opens would be a hole: only a refusal (401) counts.
    const outcome = await client.session({ tree: new DmTree(() => fixed, {}), exec: () => 406 }).then(
      () => 'opened',
      (err: unknown) => (err instanceof Error && /Status 401/.test(err.message) ? 'refused' : 'error'),
    );
    if (outcome === 'refused') refused += 1;
  }
  return { batch: batch.id, claim: batch.claim?.name ?? '', devices: now.size, enrolled: now.devices.enrolled, awaitingClaim: now.devices.awaitingClaim, claimRefusedAfter: refused, exportDir };
}
