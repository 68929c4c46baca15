// The shape of a root of offline keys (offline-root.ts signs, verifies and follows them).
// Apart from the rest, so that the trust policy in envelope.ts can name a root without a
// cycle between the two modules.
import { z } from 'zod';
import { keyIdOf } from './keys.ts';

export const MAX_ROOT_KEYS = 16;
/** Rotations one package or one request may carry; a device follows them in one go. */
export const MAX_ROTATIONS = 64;

const rootKeySchema = z.strictObject({
  keyid: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 hex digits'),
  publicKey: z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'must be base64 of a 32-byte Ed25519 public key'),
});

export const rootSchema = z
  .strictObject({
    type: z.literal('fota.root'),
    manufacturer: z.string().min(1).max(200),
    version: z.number().int().min(1).max(1_000_000),
    threshold: z.number().int().min(1).max(MAX_ROOT_KEYS),
    keys: z.array(rootKeySchema).min(1).max(MAX_ROOT_KEYS),
  })
  .superRefine((root, ctx) => {
    const ids = new Set(root.keys.map((k) => k.keyid));
    if (ids.size !== root.keys.length) ctx.addIssue({ code: 'custom', path: ['keys'], message: 'lists a key twice' });
    if (root.threshold > ids.size) ctx.addIssue({ code: 'custom', path: ['threshold'], message: `is ${root.threshold} but only ${ids.size} key(s) are listed` });
    for (const [i, k] of root.keys.entries()) {
      if (keyIdOf(Buffer.from(k.publicKey, 'base64')) !== k.keyid) ctx.addIssue({ code: 'custom', path: ['keys', i, 'keyid'], message: 'is not the SHA-256 of its publicKey' });
    }
  });

export type Root = z.infer<typeof rootSchema>;
/** Spelled out rather than Envelope<Root>: envelope.ts names this type, so it cannot import it back. */
export interface RootEnvelope {
  signed: Root;
  signatures: Array<{ keyid: string; sig: string }>;
}

