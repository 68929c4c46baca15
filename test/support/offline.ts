// A manufacturer's offline signing for tests: offline keys that never touch a server, a
// root of them (k of n), target statements for images, and uploads that carry one.
import { createHash } from 'node:crypto';
import { encodeStatementHeader, TARGET_STATEMENT_HEADER } from '../../src/builds/statement-header.ts';
import { generateKey, type SigningKey } from '../../src/signing/keys.ts';
import { type RootEnvelope, signRoot } from '../../src/signing/offline-root.ts';
import { signTargetStatement, type TargetEnvelope } from '../../src/signing/target-statement.ts';

export interface OfflineVendor {
  manufacturer: string;
  keys: SigningKey[];
  root: RootEnvelope;
}

export const rootKeyOf = (k: SigningKey) => ({ keyid: k.keyid, publicKey: Buffer.from(k.publicKey).toString('base64') });

/** n fresh offline keys and root version 1 needing k of them, signed by the first k. */
export function offlineVendor(manufacturer = 'acme', n = 3, k = 2): OfflineVendor {
  const keys = Array.from({ length: n }, () => generateKey());
  return { manufacturer, keys, root: signRoot({ manufacturer, version: 1, threshold: k, keys: keys.map(rootKeyOf) }, keys.slice(0, k)) };
}

export function statementFor(
  vendor: OfflineVendor,
  image: Uint8Array,
  target: { model: string; version: string; securityVersion?: number; hardware?: string[]; expires?: string },
  signers: SigningKey[] = vendor.keys.slice(0, vendor.root.signed.threshold),
): TargetEnvelope {
  return signTargetStatement(
    {
      manufacturer: vendor.manufacturer,
      model: target.model,
      version: target.version,
      sha256: createHash('sha256').update(image).digest('hex'),
      size: image.length,
      securityVersion: target.securityVersion ?? 0,
      hardware: target.hardware ?? [],
      expires: target.expires ?? new Date(Date.now() + 365 * 86_400_000).toISOString(),
    },
    signers,
  );
}

export const statementHeaders = (statement: TargetEnvelope) => ({ [TARGET_STATEMENT_HEADER]: encodeStatementHeader(statement) });

/** Every form a secret key could leak in: base64 of the 64-byte key, its 32-byte seed, hex. */
export function secretForms(key: SigningKey): string[] {
  const secret = Buffer.from(key.secretKey);
  return [secret.toString('base64'), secret.subarray(0, 32).toString('base64'), secret.toString('hex'), secret.subarray(0, 32).toString('hex'), secret.toString('base64url')];
}
