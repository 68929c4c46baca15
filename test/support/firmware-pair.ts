// The set-up of the end-to-end tests that update a reference agent from 1.0 to 2.0: a test
// server, a 1.0 image on disk for the agents to start from, both builds uploaded and ready
// (2.0 a small change of 1.0, so its delta is real), and the trust the server serves.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { parseTrust } from '../../src/device/trust.ts';
import type { TrustPolicy } from '../../src/signing/envelope.ts';
import { nextBuild, pseudoRandom, tempDirFor } from './harness.ts';
import { type BuildBody, startTestServer, type TestServer } from './server.ts';

export interface FirmwarePair {
  server: TestServer;
  /** The agents' working folder (removed after the file's tests). */
  dir: string;
  /** Where the 1.0 image is, for `DeviceAgent.open({ image })`. */
  baseImage: string;
  v2: BuildBody;
  v2Image: Buffer;
  trust: TrustPolicy;
}

/** Call from `beforeAll`; `name` seeds the images and names the folder. */
export async function serveFirmwarePair(name: string, model: string, size: number): Promise<FirmwarePair> {
  const dir = tempDirFor(`${name}-e2e`, afterAll);
  const server = await startTestServer();
  const v1 = pseudoRandom(size, `${name}-v1`);
  const v2Image = nextBuild(v1);
  const baseImage = join(dir, 'v1.bin');
  await writeFile(baseImage, v1);
  expect((await server.upload(model, '1.0', v1)).status).toBe('ready');
  const v2 = await server.upload(model, '2.0', v2Image);
  expect(v2.status).toBe('ready');
  const trust = parseTrust(await (await server.api('/api/v1/manufacturers/acme/keys', { token: server.tokens.operator })).text(), 'served keys');
  return { server, dir, baseImage, v2, v2Image, trust };
}
