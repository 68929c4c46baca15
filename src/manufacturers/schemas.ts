// Shapes of the manufacturer API: the public signing keys devices pin.
import { z } from 'zod';

export const publicKeyViewSchema = z.object({
  keyid: z.string(),
  publicKey: z.string().describe('base64 of the raw 32-byte Ed25519 public key'),
  status: z.enum(['active', 'retired', 'revoked']).describe('active and retired keys are trusted; revoked are not'),
  createdAt: z.string(),
});
export type PublicKeyView = z.infer<typeof publicKeyViewSchema>;

export const signingKeysSchema = z.array(publicKeyViewSchema);
