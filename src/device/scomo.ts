// The reference agent's SCOMO side: deployed components (./SCOMO/Inventory/Deployed/<x>
// with ID, Name, Version, State), packages delivered and not yet installed
// (./SCOMO/Inventory/Delivered/<x>), and the operations the server Execs. Every operation
// is accepted (202) and run after the session; its result goes back as an OperationComplete
// Generic Alert (omadm/scomo.ts) in the next one. A package is trusted only through the
// manufacturer keys the agent pins, exactly as firmware: signature, kind and model, payload
// hash, delta base, target hash; each failure is a SCOMO result code.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { DeltaPool } from '../delta/pool.ts';
import { AppError } from '../errors.ts';
import { DELIVERED_ROOT, DEPLOYED_ROOT, DOWNLOAD_ROOT, describeScomoResult, OPERATION_COMPLETE, operationCompleteData, ScomoResult } from '../omadm/scomo.ts';
import { appManifestSchema, type AppManifest } from '../packages/app-manifest.ts';
import { readFotaFile } from '../packages/fota-file.ts';
import { type TrustPolicy, verifyEnvelope } from '../signing/envelope.ts';
import type { GenericAlert } from './dm-client.ts';
import { readBody, send } from './http.ts';
import type { NodeValue } from './tree.ts';

const componentSchema = z.object({ id: z.string(), version: z.string(), state: z.enum(['active', 'inactive']), name: z.string().optional(), sha256: z.string(), size: z.number().int() });
export type DeployedComponent = z.infer<typeof componentSchema>;

const SCOMO_OPERATIONS = ['DownloadInstall', 'Download', 'Install', 'Remove', 'Activate', 'Deactivate'] as const;
export type ScomoOperationName = (typeof SCOMO_OPERATIONS)[number];

const jobSchema = z.object({ operation: z.enum(SCOMO_OPERATIONS), execUri: z.string(), node: z.string(), correlator: z.string().optional(), pkgUrl: z.string().optional() });
const reportSchema = z.object({ execUri: z.string(), correlator: z.string().optional(), resultCode: z.number().int(), identifier: z.string() });

export const scomoStateSchema = z.object({
  /** Deployed components by node name. */
  deployed: z.record(z.string(), componentSchema),
  /** Delivered (downloaded, not installed) packages by node name. */
  delivered: z.record(z.string(), z.object({ id: z.string(), version: z.string() })),
  jobs: z.array(jobSchema),
  reports: z.array(reportSchema),
});
export type ScomoState = z.infer<typeof scomoStateSchema>;

export function initialScomoState(): ScomoState {
  return { deployed: {}, delivered: {}, jobs: [], reports: [] };
}

/** Simulated trouble: the SCOMO result code an operation reports instead of doing its work. */
export type ScomoFaults = Partial<Record<'download' | 'install' | 'remove' | 'activate' | 'deactivate', number>>;

export interface ScomoJobOutcome {
  operation: ScomoOperationName;
  node: string;
  resultCode: number;
  reason: string;
}

export interface ScomoAgentOptions {
  dir: string;
  model: string;
  trust: TrustPolicy;
  pool: DeltaPool;
  faults?: ScomoFaults;
  /** Leaves the server set (PkgURL of a download node). */
  values: Record<string, string>;
  log: (line: string) => void;
}

const MAX_APP_DOWNLOAD = 64 * 1024 * 1024 + 16 * 1024 * 1024;
const NODE = /^[A-Za-z0-9._-]{1,64}$/;

export class ScomoAgent {
  constructor(
    private readonly options: ScomoAgentOptions,
    readonly state: ScomoState,
  ) {}

  /** A component installed before first contact (the factory image's applications), from its bytes. */
  async preinstall(node: string, component: { id: string; version: string; name?: string; state?: 'active' | 'inactive' }, bytes: Uint8Array): Promise<void> {
    await mkdir(this.options.dir, { recursive: true });
    await writeFile(this.pathOf(node), bytes);
    this.state.deployed[node] = { id: component.id, version: component.version, state: component.state ?? 'active', ...(component.name ? { name: component.name } : {}), sha256: sha256(bytes), size: bytes.length };
  }

  get busy(): boolean {
    return this.state.jobs.length > 0 || this.state.reports.length > 0;
  }

  nodes(): Record<string, NodeValue> {
    const chr = (data: string): NodeValue => ({ data, format: 'chr' });
    const out: Record<string, NodeValue> = {};
    for (const [node, c] of Object.entries(this.state.deployed)) {
      const base = `${DEPLOYED_ROOT}/${node}`;
      out[`${base}/ID`] = chr(c.id);
      out[`${base}/Name`] = chr(c.name ?? c.id);
      out[`${base}/Version`] = chr(c.version);
      out[`${base}/State`] = chr(c.state);
    }
    for (const [node, d] of Object.entries(this.state.delivered)) {
      out[`${DELIVERED_ROOT}/${node}/PkgID`] = chr(`${d.id}-${d.version}`);
      out[`${DELIVERED_ROOT}/${node}/Name`] = chr(d.id);
    }
    return out;
  }

  /** The Exec of a SCOMO operation node: 202 (accepted, run after the session), 404 unknown node, 405 busy; undefined when the URI is no SCOMO operation. */
  exec(path: string, correlator: string | undefined): number | undefined {
    const match = /^\.\/SCOMO\/(Download|Inventory\/Delivered|Inventory\/Deployed)\/([^/]+)\/Operations\/([A-Za-z]+)$/.exec(path);
    if (!match) return path.startsWith('./SCOMO/') ? 405 : undefined;
    const [, where, node = '', name] = match;
    const operation = SCOMO_OPERATIONS.find((op) => op === name);
    if (!operation || !NODE.test(node)) return 405;
    const allowed = where === 'Download' ? ['DownloadInstall', 'Download'] : where === 'Inventory/Delivered' ? ['Install', 'Remove'] : ['Remove', 'Activate', 'Deactivate'];
    if (!allowed.includes(operation)) return 405;
    if (where === 'Inventory/Deployed' && !this.state.deployed[node]) return 404;
    if (where === 'Inventory/Delivered' && !this.state.delivered[node]) return 404;
    if (this.state.jobs.some((j) => j.node === node)) return 405;
    const pkgUrl = where === 'Download' ? this.options.values[`${DOWNLOAD_ROOT}/${node}/PkgURL`] : undefined;
    this.state.jobs.push({ operation, execUri: path, node, ...(correlator ? { correlator } : {}), ...(pkgUrl ? { pkgUrl } : {}) });
    this.options.log(`accepted SCOMO Exec ${path}`);
    return 202;
  }

  /** Runs every accepted operation; each leaves a report for the next session. */
  async runJobs(): Promise<ScomoJobOutcome[]> {
    const outcomes: ScomoJobOutcome[] = [];
    while (this.state.jobs.length > 0) {
      const job = this.state.jobs[0];
      if (!job) break;
      const done = await this.run(job);
      this.state.jobs.shift();
      // The download node's leaves served this one operation.
      for (const uri of Object.keys(this.options.values)) if (uri.startsWith(`${DOWNLOAD_ROOT}/${job.node}/`)) delete this.options.values[uri];
      this.state.reports.push({ execUri: job.execUri, ...(job.correlator ? { correlator: job.correlator } : {}), resultCode: done.resultCode, identifier: done.identifier });
      this.options.log(`SCOMO ${job.operation} ${job.node}: ${describeScomoResult(done.resultCode)}: ${done.reason}`);
      outcomes.push({ operation: job.operation, node: job.node, resultCode: done.resultCode, reason: done.reason });
    }
    return outcomes;
  }

  /** The OperationComplete alerts owed, in order. */
  alerts(): GenericAlert[] {
    return this.state.reports.map((r) => ({ source: r.execUri, type: OPERATION_COMPLETE, data: operationCompleteData(r.resultCode, r.identifier), format: 'xml', resultCode: r.resultCode, ...(r.correlator ? { correlator: r.correlator } : {}) }));
  }

  /** The server acknowledged the first `count` reports. */
  acknowledge(count: number): void {
    this.state.reports.splice(0, count);
  }

  private async run(job: z.infer<typeof jobSchema>): Promise<{ resultCode: number; reason: string; identifier: string }> {
    const faults = this.options.faults ?? {};
    const deployed = this.state.deployed[job.node];
    const ok = (reason: string, identifier: string) => ({ resultCode: ScomoResult.Success, reason, identifier });
    const failed = (resultCode: number, reason: string, identifier = job.node) => ({ resultCode, reason, identifier });
    switch (job.operation) {
      case 'Remove': {
        if (faults.remove !== undefined) return failed(faults.remove, 'simulated failure: the component could not be removed');
        if (this.state.delivered[job.node]) {
          delete this.state.delivered[job.node];
          await rm(this.deliveredPath(job.node), { force: true });
          return ok('delivered package removed', job.node);
        }
        if (!deployed) return failed(ScomoResult.RemoveFailed, 'no such component');
        delete this.state.deployed[job.node];
        await rm(this.pathOf(job.node), { force: true });
        return ok(`removed ${deployed.id}`, deployed.id);
      }
      case 'Activate':
      case 'Deactivate': {
        const fault = job.operation === 'Activate' ? faults.activate : faults.deactivate;
        if (fault !== undefined) return failed(fault, `simulated failure: ${job.operation.toLowerCase()} did not complete`);
        if (!deployed) return failed(job.operation === 'Activate' ? ScomoResult.ActivateFailed : ScomoResult.DeactivateFailed, 'no such component');
        deployed.state = job.operation === 'Activate' ? 'active' : 'inactive';
        return ok(`${deployed.id} is ${deployed.state}`, deployed.id);
      }
      case 'Download':
      case 'DownloadInstall': {
        if (faults.download !== undefined) return failed(faults.download, 'simulated failure: the download could not complete');
        const fetched = await this.fetch(job.pkgUrl);
        if ('resultCode' in fetched) return failed(fetched.resultCode, fetched.reason);
        await mkdir(this.options.dir, { recursive: true });
        await writeFile(this.deliveredPath(job.node), fetched.bytes);
        const checked = await this.check(this.deliveredPath(job.node));
        if ('resultCode' in checked) {
          await rm(this.deliveredPath(job.node), { force: true });
          return failed(checked.resultCode, checked.reason);
        }
        if (job.operation === 'Download') {
          this.state.delivered[job.node] = { id: checked.manifest.component.id, version: checked.manifest.component.version };
          return ok(`delivered ${checked.manifest.component.id} ${checked.manifest.component.version}`, checked.manifest.component.id);
        }
        return this.install(job.node, checked.manifest, faults.install);
      }
      case 'Install': {
        const checked = await this.check(this.deliveredPath(job.node));
        if ('resultCode' in checked) return failed(checked.resultCode, checked.reason);
        delete this.state.delivered[job.node];
        return this.install(job.node, checked.manifest, faults.install);
      }
    }
  }

  private async fetch(pkgUrl: string | undefined): Promise<{ bytes: Buffer } | { resultCode: number; reason: string }> {
    let url: URL;
    try {
      url = new URL(pkgUrl ?? '');
    } catch {
      return { resultCode: ScomoResult.DownloadFailed, reason: 'no usable PkgURL was set' };
    }
    try {
      const res = await send(url, {});
      if (res.status !== 200) {
        res.cut();
        return { resultCode: res.status >= 500 ? ScomoResult.DownloadServerUnavailable : ScomoResult.DownloadFailed, reason: `the download server answered HTTP ${res.status}` };
      }
      return { bytes: await readBody(res, MAX_APP_DOWNLOAD) };
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      return { resultCode: ScomoResult.DownloadServerUnavailable, reason: err.message };
    }
  }

  /** Signature, kind and model, payload hash: what the package is, checked before anything installs it. */
  private async check(path: string): Promise<{ manifest: AppManifest } | { resultCode: number; reason: string }> {
    let file;
    try {
      file = await readFotaFile(path);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      return { resultCode: ScomoResult.ValidationFailed, reason: err.message };
    }
    const signatures = verifyEnvelope(file.envelope, this.options.trust);
    if (!signatures.ok) return { resultCode: ScomoResult.ValidationFailed, reason: `signature check failed: ${signatures.reason}` };
    const parsed = appManifestSchema.safeParse(file.envelope.signed);
    if (!parsed.success) return { resultCode: ScomoResult.ValidationFailed, reason: `not an application package: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}` };
    const manifest = parsed.data;
    if (manifest.model !== this.options.model) return { resultCode: ScomoResult.UnsupportedEnvironment, reason: `package is for model ${manifest.model}, this device is ${this.options.model}` };
    const bytes = await readFile(path);
    const payload = bytes.subarray(file.payloadOffset);
    if (payload.length !== manifest.payload.size || sha256(payload) !== manifest.payload.sha256) return { resultCode: ScomoResult.ValidationFailed, reason: 'payload hash does not match the manifest' };
    return { manifest };
  }

  private async install(downloadNode: string, manifest: AppManifest, fault: number | undefined): Promise<{ resultCode: number; reason: string; identifier: string }> {
    const id = manifest.component.id;
    const failed = (resultCode: number, reason: string) => ({ resultCode, reason, identifier: id });
    const source = this.deliveredPath(downloadNode);
    try {
      if (fault !== undefined) return failed(fault, 'simulated failure: the install did not complete');
      // The component keeps its deployed node when it is updated; a new one gets a node named after it.
      const existing = Object.entries(this.state.deployed).find(([, c]) => c.id === id);
      const node = existing?.[0] ?? nodeFor(id, this.state.deployed);
      const bytes = await readFile(source);
      const file = await readFotaFile(source);
      const payload = bytes.subarray(file.payloadOffset);
      let image: Buffer;
      if (manifest.source) {
        const current = existing?.[1];
        if (!current || current.sha256 !== manifest.source.sha256) return failed(ScomoResult.ValidationFailed, `package patches ${id} ${manifest.source.version}, which is not what is installed`);
        const patch = join(this.options.dir, `${downloadNode}.patch`);
        const out = join(this.options.dir, `${downloadNode}.new`);
        await writeFile(patch, payload);
        try {
          await this.options.pool.patch(this.pathOf(node), patch, out, manifest.target.size);
          image = await readFile(out);
        } finally {
          await rm(patch, { force: true });
          await rm(out, { force: true });
        }
      } else image = Buffer.from(payload);
      if (sha256(image) !== manifest.target.sha256) return failed(ScomoResult.InstallFailed, 'the installed component does not match the signed target hash');
      await writeFile(this.pathOf(node), image);
      this.state.deployed[node] = { id, version: manifest.component.version, state: 'active', sha256: manifest.target.sha256, size: image.length };
      return { resultCode: ScomoResult.Success, reason: `installed ${id} ${manifest.component.version}${manifest.source ? ` (delta from ${manifest.source.version})` : ''}`, identifier: id };
    } finally {
      await rm(source, { force: true });
    }
  }

  private pathOf(node: string): string {
    return join(this.options.dir, `${node}.app`);
  }

  private deliveredPath(node: string): string {
    return join(this.options.dir, `${node}.delivered`);
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A free node name for a new component: its id made safe, numbered if taken. */
function nodeFor(id: string, deployed: Record<string, unknown>): string {
  const base = id.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60) || 'app';
  let name = base;
  for (let n = 2; name in deployed; n++) name = `${base}-${n}`;
  return name;
}
