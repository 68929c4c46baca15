// Shapes of the token API: what an admin asks for when creating a token.
import { z } from 'zod';
import { nameSchema } from '../builds/schemas.ts';
import { ROLES } from './tokens.ts';

export const createTokenSchema = z.object({
  role: z.enum(ROLES),
  name: z.string().min(1).max(200),
  /** The manufacturer a manufacturer token acts for (created on first use of the name). */
  manufacturer: nameSchema.optional(),
});
