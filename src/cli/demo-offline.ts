// The demo's manufacturer signs offline, as a real one should: three offline keys made in
// the demo's own directory (never the server's), a root needing two of them registered
// with the server, offline signing required, and each build's target statement signed
// before its upload. The simulated devices pin that root, so every package they install
// is one the manufacturer vouched for, whatever the server signs.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { hashFile } from '../hashing.ts';
import { offlineSigningViewSchema } from '../manufacturers/offline-schemas.ts';
import { generateKey, type SigningKey, writeKeyFiles } from '../signing/keys.ts';
import { type RootEnvelope, signRoot } from '../signing/offline-root.ts';
import { signTargetStatement, type TargetEnvelope } from '../signing/target-statement.ts';
import { callServer, type Client } from './client.ts';

const STATEMENT_LIFETIME_MS = 30 * 86_400_000;

export interface DemoOfflineSigning {
  root: RootEnvelope;
  sign(image: string, model: string, version: string): Promise<TargetEnvelope>;
}

export async function setUpOfflineSigning(client: Client, dir: string, manufacturer: string, say: (line: string) => void): Promise<DemoOfflineSigning> {
  const keys: SigningKey[] = [generateKey(), generateKey(), generateKey()];
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await Promise.all(keys.map((key, i) => writeKeyFiles(join(dir, `offline-key-${i + 1}.json`), key)));
  const signers = keys.slice(0, 2);
  const root = signRoot({ manufacturer, version: 1, threshold: 2, keys: keys.map((k) => ({ keyid: k.keyid, publicKey: Buffer.from(k.publicKey).toString('base64') })) }, signers);
  await callServer(client, 'POST', `/api/v1/manufacturers/${manufacturer}/offline-keys`, offlineSigningViewSchema, { json: root });
  await callServer(client, 'POST', `/api/v1/manufacturers/${manufacturer}/offline-policy`, offlineSigningViewSchema, { json: { requireOfflineSigning: true } });
  say(`offline signing: 2 of 3 offline keys (in ${dir}, never sent to the server) must sign each build; the server requires it and devices pin the root`);
  return {
    root,
    sign: async (image, model, version) => {
      const digest = await hashFile(image);
      return signTargetStatement({ manufacturer, model, version, sha256: digest.sha256, size: digest.size, securityVersion: 0, hardware: [], expires: new Date(Date.now() + STATEMENT_LIFETIME_MS).toISOString() }, signers);
    },
  };
}
