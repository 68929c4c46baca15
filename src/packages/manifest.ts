// The package manifest: what a signature covers and what a device checks. Its schema is
// strict about hashes, sizes and the relations between them, because everything a device
// trusts about the payload comes from here once the signature holds.
import { z } from 'zod';
import { type Envelope, signatureSchema } from '../signing/envelope.ts';
import { MAX_ROTATIONS, rootSchema } from '../signing/offline-root.ts';
import { targetStatementSchema } from '../signing/target-statement.ts';

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be a hex SHA-256');
const size = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const name = z.string().min(1).max(200);

export const MAX_CHUNK_SIZE = 64 * 1024 * 1024;

const signatures = z.array(signatureSchema).max(64);

/**
 * formatVersion 2: the manufacturer's offline signatures travel inside the package. The
 * target statement vouches for the image; the roots are the manufacturer's chain of
 * offline keys (version 1 and its rotations), so a device can follow a rotation with no
 * other channel. The server's signature over the manifest covers them too, but a device
 * believes them only through the offline keys it pins (packages/offline-check.ts).
 */
export const offlineSignaturesSchema = z.object({
  target: z.object({ signed: targetStatementSchema, signatures }),
  roots: z.array(z.object({ signed: rootSchema, signatures })).max(MAX_ROTATIONS),
});
export type OfflineSignatures = z.infer<typeof offlineSignaturesSchema>;

export const manifestSchema = z
  .object({
    type: z.literal('fota.package'),
    formatVersion: z.union([z.literal(1), z.literal(2)]),
    // Absent on firmware; an application package (app-manifest.ts) says 'application',
    // and a firmware device refuses it here instead of flashing it.
    kind: z.literal('firmware').optional(),
    manufacturer: name,
    model: name,
    source: z.object({ version: name, sha256: sha256Hex, size }).nullable(),
    target: z.object({ version: name, sha256: sha256Hex, size, securityVersion: size }),
    payload: z.object({
      kind: z.enum(['bsdiff40', 'full']),
      sha256: sha256Hex,
      size,
      chunkSize: z.number().int().positive().max(MAX_CHUNK_SIZE),
      chunks: z.array(sha256Hex),
    }),
    createdAt: z.iso.datetime(),
    offline: offlineSignaturesSchema.optional(),
  })
  .superRefine((m, ctx) => {
    if ((m.formatVersion === 2) !== (m.offline !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['offline'], message: 'is required in formatVersion 2 and absent in formatVersion 1' });
    }
    const expected = Math.ceil(m.payload.size / m.payload.chunkSize);
    if (m.payload.chunks.length !== expected) {
      ctx.addIssue({ code: 'custom', path: ['payload', 'chunks'], message: `must list ${expected} chunk hashes` });
    }
    if ((m.payload.kind === 'full') !== (m.source === null)) {
      ctx.addIssue({ code: 'custom', path: ['source'], message: 'must be null exactly when the payload is a full image' });
    }
    if (m.payload.kind === 'full' && (m.payload.sha256 !== m.target.sha256 || m.payload.size !== m.target.size)) {
      ctx.addIssue({ code: 'custom', path: ['payload'], message: 'a full payload must be the target image' });
    }
  });

export type Manifest = z.infer<typeof manifestSchema>;
export type PackageEnvelope = Envelope<Manifest>;

export function describeManifest(m: Manifest): string {
  const from = m.source ? `${m.source.version} -> ` : 'full ';
  return `${m.manufacturer} ${m.model} ${from}${m.target.version} (${m.payload.kind}, ${m.payload.size} bytes)`;
}
