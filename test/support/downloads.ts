// Packages and download links for tests of /dl through real HTTP, on a server of the test's own.
import { DOWNLOAD_KEY_PURPOSE, type DownloadGrant, issueDownloadToken } from '../../src/deployments/download-grant.ts';
import { newId } from '../../src/store/ids.ts';
import { findDeployment, insertDeployment } from '../../src/store/queries/deployments.ts';
import { insertDevice } from '../../src/store/queries/devices.ts';
import { pseudoRandom } from './harness.ts';
import type { TestServer } from './server.ts';

/** A full package of `size` pseudo-random bytes (named after the model), built and ready. */
export async function publish(server: TestServer, model: string, size: number) {
  const build = await server.upload(model, '1.0', pseudoRandom(size, model));
  const full = build.packages.find((p) => p.kind === 'full');
  if (build.status !== 'ready' || !full) throw new Error(`build ${build.id} is ${build.status}`);
  return { id: full.id, buildId: build.id, size: full.size, sha256: full.sha256 };
}

/** A device with a commanded deployment of `pkg`, and a download link for it. */
export async function deploy(server: TestServer, pkg: { id: string; buildId: string }, expiresAt = server.clock.now() + 3_600_000) {
  const now = server.clock.now();
  const deviceId = newId('dev');
  const deploymentId = newId('dep');
  await server.ctx.db.transaction(async (tx) => {
    await insertDevice(tx, { id: deviceId, model: 'kept-model', createdAt: now });
    await insertDeployment(tx, { id: deploymentId, deviceId, buildId: pkg.buildId, packageId: pkg.id, state: 'commanded', createdAt: now, updatedAt: now });
  });
  const grant: DownloadGrant = { packageId: pkg.id, deploymentId, deviceId, expiresAt };
  const token = issueDownloadToken(server.ctx.vault.deriveKey(DOWNLOAD_KEY_PURPOSE), grant);
  return { deploymentId, token, url: `${server.url}/dl/${token}` };
}

export async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return { res, body: Buffer.from(await res.arrayBuffer()) };
}

/**
 * Bytes served as recorded once `expected` holds (or after 5 s, what they are then): they
 * are recorded once the response is over, which the server sees just after the client does.
 */
export async function servedOf(server: TestServer, id: string, expected: number | ((served: number) => boolean)): Promise<number> {
  const deadline = Date.now() + 5_000;
  const holds = typeof expected === 'number' ? (served: number) => served === expected : expected;
  for (;;) {
    const served = (await findDeployment(server.ctx.db, id))?.bytesServed ?? -1;
    if (holds(served) || Date.now() > deadline) return served;
    await new Promise((r) => setTimeout(r, 20));
  }
}
