// The manifest of an application package (SCOMO): the same envelope, keys, payload and
// .fota file as firmware (manifest.ts), with `kind: "application"` and the component it
// installs. A firmware device refuses it (its manifest allows no such kind), and an
// application is never installed from a firmware manifest (this schema needs the kind).
import { z } from 'zod';
import type { Envelope } from '../signing/envelope.ts';
import { FOTA_MAGIC } from './fota-file.ts';
import { MAX_CHUNK_SIZE } from './manifest.ts';

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be a hex SHA-256');
const size = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const name = z.string().min(1).max(200);

/** A component id: reverse-domain style (com.acme.maps), one URI segment's worth of safe characters. */
export const componentIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be 1-128 letters, digits, dots, dashes or underscores, starting with a letter or digit');
/** A version: 1.2.3, 2024.1-rc2, ... no spaces, slashes or markup. */
export const appVersionSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.+_~-]{0,63}$/, 'must be 1-64 letters, digits or . + _ ~ -, starting with a letter or digit');

const digest = z.object({ version: appVersionSchema, sha256: sha256Hex, size }).strict();

export const appManifestSchema = z
  .object({
    type: z.literal('fota.package'),
    formatVersion: z.literal(1),
    kind: z.literal('application'),
    manufacturer: name,
    model: name,
    component: z.object({ id: componentIdSchema, version: appVersionSchema }).strict(),
    source: digest.nullable(),
    target: digest,
    payload: z
      .object({
        kind: z.enum(['bsdiff40', 'full']),
        sha256: sha256Hex,
        size,
        chunkSize: z.number().int().positive().max(MAX_CHUNK_SIZE),
        chunks: z.array(sha256Hex),
      })
      .strict(),
    createdAt: z.iso.datetime(),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.payload.chunks.length !== Math.ceil(m.payload.size / m.payload.chunkSize)) ctx.addIssue({ code: 'custom', path: ['payload', 'chunks'], message: 'wrong number of chunk hashes' });
    if ((m.payload.kind === 'full') !== (m.source === null)) ctx.addIssue({ code: 'custom', path: ['source'], message: 'must be null exactly when the payload is full' });
    if (m.payload.kind === 'full' && (m.payload.sha256 !== m.target.sha256 || m.payload.size !== m.target.size)) ctx.addIssue({ code: 'custom', path: ['payload'], message: 'a full payload must be the target' });
    if (m.component.version !== m.target.version) ctx.addIssue({ code: 'custom', path: ['component', 'version'], message: 'must equal target.version' });
  });

export type AppManifest = z.infer<typeof appManifestSchema>;
export type AppEnvelope = Envelope<AppManifest>;

/** The .fota file of an application package, in memory (applications are small: MAX_APP_BYTES). */
export function appFileBytes(envelope: AppEnvelope, payload: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(envelope), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return Buffer.concat([FOTA_MAGIC, length, json, payload]);
}
