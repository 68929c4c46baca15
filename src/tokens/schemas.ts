// Shapes of the token and people API: what an admin asks for when creating tokens and
// people, and what the people listing shows (never a token or its hash).
import { z } from 'zod';
import { nameSchema } from '../builds/schemas.ts';
import { ROLES } from './tokens.ts';

/** A person's login: printable, no control characters (it lands in logs and messages). */
export const loginSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^\p{Cc}]+$/u, 'must not hold control characters');

export const createTokenSchema = z.object({
  role: z.enum(ROLES),
  name: z.string().min(1).max(200),
  /** The manufacturer a manufacturer token acts for (created on first use of the name). */
  manufacturer: nameSchema.optional(),
  /** The login of the person who holds it (created on first use); only an admin names someone else. */
  person: loginSchema.optional(),
});

export const createPersonSchema = z.object({
  login: loginSchema,
  /** What the console and the audit log show; the login when left out. */
  displayName: loginSchema.optional(),
});

export const createdTokenSchema = z.object({ id: z.string(), token: z.string(), personId: z.string() });

export const personTokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  manufacturer: z.string().nullable(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});

export const personSchema = z.object({
  id: z.string(),
  login: z.string(),
  displayName: z.string(),
  createdAt: z.string(),
  tokens: z.array(personTokenSchema),
});

export type PersonView = z.infer<typeof personSchema>;
