// Shapes of the offline-signing API: what the server knows of a manufacturer's offline
// keys (public halves only), its policy, and the chain of roots devices follow.
import { z } from 'zod';

export const offlineKeyViewSchema = z.object({
  keyid: z.string(),
  publicKey: z.string().describe('base64 of the raw 32-byte Ed25519 public key'),
  status: z.enum(['active', 'revoked']).describe('revoked: refused by the server; devices stop trusting it when a rotation leaves it out'),
});

export const offlineSigningViewSchema = z.object({
  manufacturer: z.string(),
  requireOfflineSigning: z.boolean().describe('builds without a valid target statement are refused'),
  mode: z.enum(['offline', 'server-held']).describe('server-held: quick start, the server signs any image it is given and devices trust the server alone'),
  rootVersion: z.number().int().nullable(),
  threshold: z.number().int().nullable().describe('offline signatures a target statement needs'),
  keys: z.array(offlineKeyViewSchema),
  roots: z.array(z.record(z.string(), z.unknown())).describe('every signed root, oldest first: version 1 is what devices pin, later ones are rotations'),
});
export type OfflineSigningView = z.infer<typeof offlineSigningViewSchema>;

export const offlinePolicyBodySchema = z.strictObject({ requireOfflineSigning: z.boolean() });
export const rootBodySchema = z.record(z.string(), z.unknown()).describe('a signed root of offline keys (fota keys root)');
