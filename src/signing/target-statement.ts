// The manufacturer's target statement: "this image, and only this image, is firmware
// version V of model M", signed offline by k of the manufacturer's n root keys (TUF's and
// Uptane's image-repository role). The server cannot make one, so a server that signs a
// package for an image no statement vouches for ships nothing a device installs. The
// statement expires, so a server cannot hold devices on a stale one forever (freeze).
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { signEnvelope, type Envelope, verifyEnvelope } from './envelope.ts';
import type { SigningKey } from './keys.ts';
import { type Root, rootPolicy } from './offline-root.ts';
import { firstIssue, parseSignedDocument } from './signed-document.ts';

const name = z.string().min(1).max(200);

export const targetStatementSchema = z.strictObject({
  type: z.literal('fota.target'),
  formatVersion: z.literal(1),
  manufacturer: name,
  model: name,
  version: name,
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a hex SHA-256'),
  size: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  securityVersion: z.number().int().min(0).max(2 ** 31),
  /** Hardware versions (DevDetail/HwV) the image runs on; empty: any. */
  hardware: z.array(z.string().min(1).max(100)).max(64),
  expires: z.iso.datetime(),
});

export type TargetStatement = z.infer<typeof targetStatementSchema>;
export type TargetEnvelope = Envelope<TargetStatement>;

export function signTargetStatement(statement: Omit<TargetStatement, 'type' | 'formatVersion'>, keys: SigningKey[]): TargetEnvelope {
  const parsed = targetStatementSchema.safeParse({ type: 'fota.target', formatVersion: 1, ...statement });
  if (!parsed.success) throw new AppError('VALIDATION', `target statement: ${firstIssue(parsed.error)}`);
  if (keys.length === 0) throw new AppError('VALIDATION', 'a target statement needs at least one signing key');
  return signEnvelope(parsed.data, keys);
}

/** Parses a statement (shape only; verifyTargetStatement decides whether to believe it). */
export function parseTargetStatement(input: string | Uint8Array | unknown, what = 'target statement'): TargetEnvelope {
  const envelope = typeof input === 'string' || input instanceof Uint8Array ? parseSignedDocument(input, what) : parseSignedDocument(JSON.stringify(input) ?? '', what);
  const parsed = targetStatementSchema.safeParse(envelope.signed);
  if (!parsed.success) throw new AppError('VALIDATION', `${what}: signed.${firstIssue(parsed.error)}`);
  return { signed: parsed.data, signatures: envelope.signatures };
}

export interface StatementTrust {
  /** The newest root the verifier trusts (a device: followed from the one it pins). */
  root: Root;
  /** Keys the server was told to stop trusting before a rotation removed them. */
  revoked?: ReadonlySet<string>;
  now: number;
}

export type StatementVerdict = { ok: true; keyids: string[] } | { ok: false; reason: string };

export function verifyTargetStatement(envelope: TargetEnvelope, trust: StatementTrust): StatementVerdict {
  const s = envelope.signed;
  if (s.manufacturer !== trust.root.manufacturer) return { ok: false, reason: `target statement is for manufacturer ${s.manufacturer}, the offline keys are ${trust.root.manufacturer}'s` };
  const signatures = verifyEnvelope(envelope, rootPolicy(trust.root, trust.revoked));
  if (!signatures.ok) return { ok: false, reason: `target statement for ${s.model} ${s.version} is not signed by the manufacturer's offline keys (root version ${trust.root.version}): ${signatures.reason}` };
  if (Date.parse(s.expires) <= trust.now) return { ok: false, reason: `target statement for ${s.model} ${s.version} expired at ${s.expires}` };
  return { ok: true, keyids: signatures.keyids };
}
