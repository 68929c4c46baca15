// What the agent keeps on disk between runs (`<data>/state.json`, replaced atomically):
// the FUMO State, the job it accepted and how far it got, the result it still owes the
// server, the installed slots and the DM nonce (the partial download keeps its own record
// beside its bytes, see download.ts). A restarted agent reads it and carries on.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { writeFileAtomic } from '../files.ts';
import { signatureSchema } from '../signing/envelope.ts';
import { rootSchema } from '../signing/offline-root.ts';
import { scomoStateSchema } from './scomo.ts';

/** FUMO 1.0 State node values (PROTOCOL.md "FUMO"). */
export const FumoState = {
  Idle: 10,
  DownloadFailed: 20,
  Downloading: 30,
  DownloadComplete: 40,
  ReadyToUpdate: 50,
  Updating: 60,
  UpdateFailedWithPackage: 70,
  UpdateFailedNoPackage: 80,
  UpdateOkWithPackage: 90,
  UpdateOkNoPackage: 100,
} as const;
export type FumoStateValue = (typeof FumoState)[keyof typeof FumoState];

export const FUMO_OPERATIONS = ['DownloadAndUpdate', 'Download', 'Update'] as const;
export type FumoOperation = (typeof FUMO_OPERATIONS)[number];

const slotSchema = z.object({ version: z.string(), sha256: z.string(), size: z.number().int().nonnegative() });
export type SlotInfo = z.infer<typeof slotSchema>;

const jobSchema = z.object({
  operation: z.enum(FUMO_OPERATIONS),
  /** The node the server Exec'd, e.g. ./FUMO/fota/DownloadAndUpdate (the alert's Source). */
  execUri: z.string(),
  correlator: z.string().optional(),
  pkgUrl: z.string().optional(),
  /** pending: accepted, not started; downloading/updating: under way (resume on restart). */
  phase: z.enum(['pending', 'downloading', 'updating']),
  acceptedAt: z.string(),
});
export type FumoJob = z.infer<typeof jobSchema>;

const reportSchema = z.object({
  execUri: z.string(),
  operation: z.enum(FUMO_OPERATIONS),
  correlator: z.string().optional(),
  resultCode: z.number().int(),
  reason: z.string(),
});
export type PendingReport = z.infer<typeof reportSchema>;

export const agentStateSchema = z.object({
  format: z.literal(1),
  fumoState: z.number().int(),
  securityVersion: z.number().int().nonnegative(),
  slots: z.object({ a: slotSchema.optional(), b: slotSchema.optional() }),
  /** Leaves the server set (PkgURL, PkgName, ...), by URI. */
  values: z.record(z.string(), z.string()),
  /** The last NextNonce the server gave (base64): the next session's Cred uses it. */
  clientNonce: z.string().optional(),
  job: jobSchema.optional(),
  report: reportSchema.optional(),
  /**
   * The newest root of the manufacturer's offline keys this device followed (from the
   * pinned one, each rotation signed by the keys before it): a server that later withholds
   * a rotation cannot bring revoked keys back.
   */
  offlineRoot: z.object({ signed: rootSchema, signatures: z.array(signatureSchema).max(64) }).optional(),
  /** Application components, delivered packages, SCOMO operations and the results owed (scomo.ts). */
  scomo: scomoStateSchema.optional(),
});
export type AgentState = z.infer<typeof agentStateSchema>;

export function initialState(): AgentState {
  return { format: 1, fumoState: FumoState.Idle, securityVersion: 0, slots: {}, values: {} };
}

export class StateFile {
  readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, 'state.json');
  }

  async load(): Promise<AgentState | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new AppError('VALIDATION', `agent state ${this.path} is not JSON; move it away to start over`);
    }
    const parsed = agentStateSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new AppError('VALIDATION', `agent state ${this.path}: ${issue ? `${issue.path.join('.')} ${issue.message}` : 'bad shape'}; move it away to start over`);
    }
    return parsed.data;
  }

  async save(state: AgentState): Promise<void> {
    await writeFileAtomic(this.path, `${JSON.stringify(state, null, 2)}\n`, 0o600);
  }
}
