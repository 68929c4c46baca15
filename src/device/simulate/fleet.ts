// The fleet simulator (`fota simulate`, and `npm run demo` in process): N reference
// agents in one process, each with its own id, DM credentials, data dir, FUMO state and
// A/B slots, polling the server at an interval with jitter and answering Package 0
// through a local webhook. What they share is only what a simulation can share without
// changing what each device does: image bytes on disk (simulate/images.ts), the bsdiff
// results (simulate/patches.ts) and a bounded line of who talks to the server now
// (simulate/scheduler.ts). Faults are dealt to a share of the fleet (simulate/faults.ts).
//
// Layout of the data dir, which a later run with the same options continues from:
//   fleet.json          the secret the device passwords derive from, the webhook port
//   images/<sha256>     each distinct image once
//   devices/<id>/       one agent's data dir (state.json, slot-a.bin, slot-b.bin, active)
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { copyFile, mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { writeFileAtomic } from '../../files.ts';
import type { TrustPolicy } from '../../signing/envelope.ts';
import { type AgentOptions, DeviceAgent, type SessionTrigger } from '../agent.ts';
import { SIMULATED_APPS } from '../helpdesk-nodes.ts';
import { FumoState } from '../state.ts';
import { type ApiAccess, registerDevice } from './api.ts';
import { assignFaults, type Fault, FAULT_RESULT, type FaultKind, faultOptions } from './faults.ts';
import { type ImageStoreStats, SharedImages } from './images.ts';
import { SharedPatchPool } from './patches.ts';
import { SessionScheduler } from './scheduler.ts';
import { WebhookReceiver } from './webhook.ts';

export interface FleetOptions {
  /** The fota server's base URL (http://host:8080); registration and keys go there. */
  server: string;
  /**
   * Several servers sharing one database (no load balancer in front): each new DM
   * session, fleet-wide, starts at the next of these in turn. Default: `[server]`.
   */
  servers?: readonly string[];
  devices: number;
  model: string;
  /** The version the devices run at first, and the image that is (`image`). */
  version: string;
  image: string;
  manufacturer?: string;
  /** The manufacturer keys every device pins. */
  trust: TrustPolicy;
  /** Everything the fleet keeps on disk; a later run with the same dir continues. */
  dataDir: string;
  /** With an operator token: register every device (skipped when `register` is false). */
  api?: ApiAccess;
  register?: boolean;
  /** Device ids are the prefix and a zero-padded number: sim-0001, sim-0002, ... */
  idPrefix?: string;
  /**
   * A fleet flashed from an enrollment export (bootstrap.ts): these ids, each starting
   * from its bootstrap file alone; nothing is registered (the batch registered them).
   */
  bootstrap?: { ids: readonly string[]; files: ReadonlyMap<string, string> };
  /** Share of the devices (0..1, spread over the ids) that lose the credentials a claim gives them (they are then locked out). */
  loseCredentialsShare?: number;
  tags?: string[];
  faults?: Fault[];
  /** Applications every device has installed at its first start (SCOMO), with their bytes. */
  apps?: Array<{ id: string; version: string; file: string }>;
  /**
   * Share of the devices (0..1, spread evenly over the ids) whose user asks for an update
   * in the device's first session of the run (Generic Alert 1226 ...userrequest).
   */
  requestShare?: number;
  /**
   * The devices' users answering user-interaction alerts (any work with `confirm`:
   * firmware, applications, configuration, helpdesk queries):
   * the share of devices whose user rejects, and the share whose user stays silent (the
   * default response, else a timeout); the rest accept. Devices are dealt by a hash of
   * their ids, so the same devices answer the same way on every run.
   */
  user?: { rejectShare?: number; timeoutShare?: number };
  /** Bytes of each device's log at ./DevDetail/Ext/Log (read as a DM large object). */
  logBytes?: number;
  /** Seconds between polls (default 30), varied by +-jitter (default 0.5, i.e. +-50%). */
  pollSeconds?: number;
  jitter?: number;
  /**
   * Seconds from start() to each device's first poll; default: a random point of the first
   * interval, so that the fleet does not call in all at once.
   */
  firstPollSeconds?: number;
  /** Devices in a session or job at once (default 32); slow-link devices do not count. */
  concurrency?: number;
  /** bsdiff patches at once (default 1; each distinct patch runs only once anyway). */
  patchConcurrency?: number;
  /** Where Package 0 is received; false: no webhook, devices only poll. */
  webhook?: false | { host?: string; port?: number; publicUrl?: string };
  encoding?: 'xml' | 'wbxml';
  /** The agents' first pause after a failed download request (default 1000 ms). */
  retryDelayMs?: number;
  /** Lines about the fleet as a whole (registration, errors). */
  log?: (line: string) => void;
  /** Every agent's own log lines (many). */
  deviceLog?: (deviceId: string, line: string) => void;
}

export type DeviceActivity = 'idle' | 'queued' | 'session' | 'downloading' | 'installing';

export interface FleetCounts {
  elapsedSeconds: number;
  devices: number;
  /** What the devices are doing now. */
  states: Record<DeviceActivity, number>;
  /** Devices by the firmware version they run. */
  byVersion: Record<string, number>;
  /** Devices whose last FUMO job failed, by its result code. */
  failuresByCode: Record<string, number>;
  /** SCOMO operations the devices ran, by result code (1200 success). */
  appResultsByCode?: Record<string, number>;
  sessions: number;
  jobs: number;
  /** Package 0 notifications received. */
  notifications: number;
  /** Update requests the devices sent, and how many the server answered with an update. */
  updateRequests?: { asked: number; offered: number };
  /** How the devices' users answered the prompts shown (with --user-reject / --user-timeout). */
  userAnswers?: Record<string, number>;
  /** Polls that failed (server unreachable, refused credentials, ...). */
  errors: number;
  bytesDownloaded: number;
}

export interface FaultOutcome {
  devices: number;
  /** The FUMO code the fault should produce; null: the device should still update. */
  expectedResult: number | null;
  byVersion: Record<string, number>;
  failuresByCode: Record<string, number>;
}

export interface FleetSummary extends FleetCounts {
  untilVersion?: string;
  reached?: boolean;
  faults: Partial<Record<FaultKind, FaultOutcome>>;
  images: ImageStoreStats;
  patches: { applied: number; reused: number };
  /** A few of the distinct poll errors, for a first look. */
  errorSamples: string[];
}

interface SimDevice {
  readonly id: string;
  readonly fault: Fault | undefined;
  readonly agent: DeviceAgent;
  timer: NodeJS.Timeout | undefined;
  /** FUMO result of the device's last job. */
  lastResult: number | undefined;
  /** A Package 0 that came before start(). */
  early: SessionTrigger | undefined;
  /** Its user asks for an update in its next session (once per run). */
  asks: boolean;
}

const fleetFileSchema = z.object({ format: z.literal(1), secret: z.string().regex(/^[0-9a-f]{64}$/), webhookPort: z.number().int().min(1).max(65535).optional() });
type FleetFile = z.infer<typeof fleetFileSchema>;

/** Agents opened, and devices registered, this many at a time. */
const SETUP_PARALLELISM = 16;
const MAX_ERROR_SAMPLES = 5;
/** setTimeout fires at once for longer delays (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Fleet {
  private readonly devices: SimDevice[] = [];
  private readonly byId = new Map<string, SimDevice>();
  private readonly scheduler: SessionScheduler<SimDevice, SessionTrigger>;
  private readonly controller = new AbortController();
  private readonly totals = { sessions: 0, jobs: 0, notifications: 0, errors: 0, bytesDownloaded: 0 };
  private readonly appResults: Record<string, number> = {};
  private readonly requests = { asked: 0, offered: 0 };
  private readonly errorSamples = new Set<string>();
  private readonly waiters = new Set<{ version: string; resolve: (reached: boolean) => void }>();
  private webhook: WebhookReceiver | undefined;
  private startedAt = performance.now();
  private started = false;
  private stopping = false;
  /** Devices that lose the credentials a claim gives them (the lose-credentials share). */
  private losingCredentials = new Set<string>();
  private readonly pollSeconds: number;
  private readonly jitter: number;
  /** How many DM sessions the fleet has started: which of `servers` the next one goes to. */
  private sessionTurn = 0;

  private constructor(
    readonly options: FleetOptions,
    private readonly images: SharedImages,
    private readonly patches: SharedPatchPool,
  ) {
    // Every agent's requests listen on this one signal, hundreds at a time.
    setMaxListeners(0, this.controller.signal);
    this.pollSeconds = options.pollSeconds ?? 30;
    this.jitter = options.jitter ?? 0.5;
    this.scheduler = new SessionScheduler(
      options.concurrency ?? 32,
      (device, trigger) => this.runDevice(device, trigger),
      (device) => device.fault?.kind === 'slow',
    );
  }

  /** Opens (or continues) every device, starts the webhook and registers the devices; nothing polls before start(). */
  static async create(options: FleetOptions): Promise<Fleet> {
    checkOptions(options);
    await mkdir(join(options.dataDir, 'devices'), { recursive: true });
    const { file, fresh } = await loadFleetFile(options.dataDir);
    const images = await SharedImages.open(join(options.dataDir, 'images'));
    const fleet = new Fleet(options, images, new SharedPatchPool(images, { concurrency: options.patchConcurrency ?? 1 }));
    try {
      await fleet.setUp(file, fresh);
    } catch (err) {
      await fleet.stop();
      throw err;
    }
    return fleet;
  }

  get ids(): string[] {
    return this.devices.map((d) => d.id);
  }

  /** The device's agent (tests and the demo look inside). */
  agent(id: string): DeviceAgent | undefined {
    return this.byId.get(id)?.agent;
  }

  faultOf(id: string): Fault | undefined {
    return this.byId.get(id)?.fault;
  }

  /** Where this fleet receives Package 0 (undefined without a webhook). */
  get webhookUrl(): string | undefined {
    return this.webhook?.baseUrl;
  }

  /** Starts polling: each device's first poll falls at a random point of the first interval. */
  start(): void {
    if (this.started || this.stopping) return;
    this.started = true;
    this.startedAt = performance.now();
    for (const device of this.devices) {
      if (device.early) this.scheduler.wake(device, device.early);
      else this.schedulePoll(device, this.options.firstPollSeconds ?? Math.random() * this.pollSeconds);
      device.early = undefined;
    }
  }

  /** Asks a device to open a session now, as a Package 0 would (without one). */
  wake(id: string): boolean {
    const device = this.byId.get(id);
    if (!device || this.stopping) return false;
    this.scheduler.wake(device);
    return true;
  }

  counts(): FleetCounts {
    const states: Record<DeviceActivity, number> = { idle: 0, queued: 0, session: 0, downloading: 0, installing: 0 };
    const byVersion: Record<string, number> = {};
    const failuresByCode: Record<string, number> = {};
    for (const device of this.devices) {
      states[this.activityOf(device)] += 1;
      bump(byVersion, device.agent.firmwareVersion);
      if (device.lastResult !== undefined && !succeeded(device.lastResult)) bump(failuresByCode, String(device.lastResult));
    }
    return {
      elapsedSeconds: Math.round((performance.now() - this.startedAt) / 100) / 10,
      devices: this.devices.length,
      states,
      byVersion,
      failuresByCode,
      ...(Object.keys(this.appResults).length > 0 ? { appResultsByCode: { ...this.appResults } } : {}),
      ...this.totals,
      ...(this.options.requestShare ? { updateRequests: { ...this.requests } } : {}),
      ...(this.options.user ? { userAnswers: userAnswersOf(this.devices.map((d) => d.agent)) } : {}),
    };
  }

  summary(untilVersion?: string): FleetSummary {
    const faults: Partial<Record<FaultKind, FaultOutcome>> = {};
    for (const fault of this.options.faults ?? []) faults[fault.kind] = { devices: 0, expectedResult: FAULT_RESULT[fault.kind] ?? null, byVersion: {}, failuresByCode: {} };
    for (const device of this.devices) {
      const outcome = device.fault ? faults[device.fault.kind] : undefined;
      if (!outcome) continue;
      outcome.devices += 1;
      bump(outcome.byVersion, device.agent.firmwareVersion);
      if (device.lastResult !== undefined && !succeeded(device.lastResult)) bump(outcome.failuresByCode, String(device.lastResult));
    }
    return {
      ...this.counts(),
      ...(untilVersion === undefined ? {} : { untilVersion, reached: this.reached(untilVersion) }),
      faults,
      images: this.images.stats(),
      patches: this.patches.patchStats(),
      errorSamples: [...this.errorSamples],
    };
  }

  /**
   * Every device without a fault that makes it fail runs `version`, every device with one
   * has reported its failure, and no device still owes the server a result.
   */
  reached(version: string): boolean {
    return this.devices.every((device) => {
      if (device.agent.owesReport) return false;
      if (device.agent.firmwareVersion === version) return true;
      // Its user declined the update (or never answered): the server ended its deployment.
      if (userDeclined(device.agent)) return true;
      const failing = device.fault !== undefined && FAULT_RESULT[device.fault.kind] !== undefined;
      return failing && device.lastResult !== undefined && !succeeded(device.lastResult);
    });
  }

  /** Resolves true once reached(version), false if the fleet stops or the signal fires first. */
  until(version: string, signal?: AbortSignal): Promise<boolean> {
    if (this.reached(version)) return Promise.resolve(true);
    if (this.stopping || signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter = {
        version,
        resolve: (reached: boolean) => {
          this.waiters.delete(waiter);
          signal?.removeEventListener('abort', onAbort);
          resolve(reached);
        },
      };
      const onAbort = () => waiter.resolve(false);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }

  /** Stops polling, interrupts what runs (agents carry on from their state next time) and closes the webhook. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const device of this.devices) clearTimeout(device.timer);
    this.controller.abort();
    await this.scheduler.stop();
    await this.webhook?.close();
    for (const waiter of [...this.waiters]) waiter.resolve(false);
  }

  // -------------------------------------------------------------------------------------

  private async setUp(file: FleetFile, fresh: boolean): Promise<void> {
    const { options } = this;
    const ids = options.bootstrap ? [...options.bootstrap.ids] : deviceIds(options.idPrefix ?? 'sim-', options.devices);
    const faults = assignFaults(ids, options.faults ?? []);
    const wrongBase = [...faults.values()].some((f) => f.kind === 'wrong-base') ? await this.wrongBaseImage() : undefined;

    if (options.webhook !== false) {
      this.webhook = await this.startWebhook(options.webhook?.port ?? file.webhookPort, options.webhook?.port === undefined);
      if (this.webhook.port !== file.webhookPort) await saveFleetFile(options.dataDir, { ...file, webhookPort: this.webhook.port });
    }

    const share = options.requestShare ?? 0;
    const asking = new Set(ids.filter((_, i) => Math.floor((i + 1) * share) > Math.floor(i * share)));
    const losing = options.loseCredentialsShare ?? 0;
    this.losingCredentials = new Set(ids.filter((_, i) => Math.floor((i + 1) * losing) > Math.floor(i * losing)));
    await inBatches(ids, SETUP_PARALLELISM, async (id) => {
      const fault = faults.get(id);
      const agent = await this.openAgent(id, password(file.secret, id), fault, fault?.kind === 'wrong-base' ? wrongBase : undefined, fresh);
      const device: SimDevice = { id, fault, agent, timer: undefined, lastResult: undefined, early: undefined, asks: asking.has(id) };
      this.byId.set(id, device);
    });
    // In id order, whatever order they opened in.
    for (const id of ids) {
      const device = this.byId.get(id);
      if (device) this.devices.push(device);
    }
    this.log(`${ids.length} devices ready in ${options.dataDir} (${this.images.stats().blobs} distinct image(s) on disk)`);

    const { api } = options;
    if (api && options.register !== false && !options.bootstrap) {
      let created = 0;
      await inBatches(this.devices, SETUP_PARALLELISM, async (device) => {
        const outcome = await registerDevice(api, {
          id: device.id,
          model: options.model,
          firmwareVersion: device.agent.firmwareVersion,
          ...(options.tags?.length ? { tags: options.tags } : {}),
          credentials: { username: device.id, password: password(file.secret, device.id) },
          ...(this.webhook ? { webhookUrl: this.webhook.urlFor(device.id) } : {}),
        });
        if (outcome === 'created') created += 1;
        else if (fresh) {
          throw new AppError('CONFLICT', `device ${device.id} is already registered on ${api.server} (by another run, with other credentials): choose another id prefix, or use the data dir of the run that registered it`);
        }
      });
      this.log(`registered ${created} device(s)${created < this.devices.length ? `; ${this.devices.length - created} were registered by an earlier run` : ''}`);
    }
  }

  private async openAgent(id: string, devicePassword: string, fault: Fault | undefined, wrongBase: string | undefined, fresh: boolean): Promise<DeviceAgent> {
    const { options } = this;
    const faulty = faultOptions(id, fault);
    // The downloader reports bytes per download; a new downloader (next job) starts from 0.
    const meter: { agent?: DeviceAgent; downloader?: unknown; last: number } = { last: 0 };
    const servers = options.servers ?? [];
    const flashedFrom = options.bootstrap?.files.get(id);
    const loses = this.losingCredentials.has(id);
    const agentOptions: AgentOptions = {
      serverUrl: options.server,
      ...(flashedFrom ? { bootstrap: flashedFrom } : { username: id, password: devicePassword }),
      ...(servers.length > 1 ? { nextServer: () => servers[this.sessionTurn++ % servers.length] ?? options.server } : {}),
      devId: id,
      model: options.model,
      ...(options.manufacturer ? { manufacturer: options.manufacturer } : {}),
      dataDir: join(options.dataDir, 'devices', id.replace(/[^A-Za-z0-9._-]/g, '_')),
      image: wrongBase ?? options.image,
      version: options.version,
      trust: options.trust,
      ...(options.encoding ? { encoding: options.encoding } : {}),
      swVersion: 'fota-simulate 1',
      // What a helpdesk reads under ./SCOMO/Inventory/Deployed (helpdesk-nodes.ts).
      apps: SIMULATED_APPS,
      pool: this.patches,
      images: this.images,
      ...(faulty.failures || loses ? { failures: { ...faulty.failures, ...(loses ? { loseNewCredentials: true } : {}) } } : {}),
      ...(faulty.refuseWrites ? { refuseWrites: faulty.refuseWrites } : {}),
      ...(faulty.scomoFailures ? { scomoFailures: faulty.scomoFailures } : {}),
      ...(options.user ? { user: { ...options.user, random: () => userRoll(id) } } : {}),
      ...(options.logBytes === undefined ? {} : { logBytes: options.logBytes }),
      download: {
        ...(options.retryDelayMs === undefined ? {} : { retryDelayMs: options.retryDelayMs }),
        ...faulty.download,
        onProgress: ({ received }) => {
          const current = meter.agent?.lastDownloader;
          if (current !== meter.downloader) {
            meter.downloader = current;
            meter.last = 0;
          }
          this.totals.bytesDownloaded += received - meter.last;
          meter.last = received;
        },
      },
      signal: this.controller.signal,
      ...(options.deviceLog ? { log: (line: string) => options.deviceLog?.(id, line) } : {}),
    };
    meter.agent = await DeviceAgent.open(agentOptions);
    // A new fleet only: the applications the devices ship with (a later run keeps what they have now).
    if (fresh) {
      for (const app of options.apps ?? []) await meter.agent.scomo.preinstall(app.id.replace(/[^A-Za-z0-9._-]/g, '_'), { id: app.id, version: app.version }, await readFile(app.file));
    }
    return meter.agent;
  }

  /** The image with one byte flipped, for `wrong-base` devices: their version says one image, their slot holds another. */
  private async wrongBaseImage(): Promise<string> {
    const made = await this.images.produce(async (tmp) => {
      await copyFile(this.options.image, tmp);
      const handle = await open(tmp, 'r+');
      try {
        const { size } = await handle.stat();
        if (size === 0) throw new AppError('VALIDATION', `image ${this.options.image} is empty`);
        const at = Math.floor(size / 2);
        const byte = Buffer.alloc(1);
        await handle.read(byte, 0, 1, at);
        byte[0] = (byte[0] ?? 0) ^ 0xff;
        await handle.write(byte, 0, 1, at);
      } finally {
        await handle.close();
      }
    });
    return made.path;
  }

  private async startWebhook(port: number | undefined, fallBack: boolean): Promise<WebhookReceiver> {
    const hook = this.options.webhook || {};
    const start = (p: number | undefined) =>
      WebhookReceiver.start({
        ...(hook.host ? { host: hook.host } : {}),
        ...(p === undefined ? {} : { port: p }),
        ...(hook.publicUrl ? { publicUrl: hook.publicUrl } : {}),
        onNotify: (id, sessionId) => this.notified(id, sessionId),
      });
    try {
      return await start(port);
    } catch (err) {
      // The port of an earlier run (which the registered webhook URLs name) is taken:
      // devices registered then get Package 0 elsewhere, and still update by polling.
      if (!fallBack || port === undefined) throw err;
      this.log(`port ${port} of the earlier run is taken; Package 0 for devices registered then will not arrive (they still poll)`);
      return start(undefined);
    }
  }

  private notified(id: string, sessionId: string): boolean {
    const device = this.byId.get(id);
    if (!device) return false;
    this.totals.notifications += 1;
    if (!this.started) device.early = { sessionId };
    else if (!this.stopping) this.scheduler.wake(device, { sessionId });
    return true;
  }

  private async runDevice(device: SimDevice, trigger: SessionTrigger | undefined): Promise<void> {
    clearTimeout(device.timer);
    device.timer = undefined;
    try {
      const report = await device.agent.runOnce(trigger, device.asks ? 'user' : undefined);
      if (report.request) {
        device.asks = false;
        this.requests.asked += 1;
        if (report.jobs.length > 0) this.requests.offered += 1;
      }
      this.totals.sessions += report.sessions;
      for (const job of report.jobs) {
        this.totals.jobs += 1;
        device.lastResult = job.resultCode;
      }
      for (const app of report.apps) bump(this.appResults, String(app.resultCode));
    } catch (err) {
      if (this.stopping) return;
      this.totals.errors += 1;
      const message = err instanceof Error ? err.message : String(err);
      if (this.errorSamples.size < MAX_ERROR_SAMPLES && !this.errorSamples.has(message)) {
        this.errorSamples.add(message);
        // Not an AppError: a bug rather than the network or the server; the stack says where.
        this.log(`${device.id}: ${err instanceof AppError || !(err instanceof Error) ? message : (err.stack ?? message)}`);
      }
    } finally {
      if (!this.stopping) {
        this.schedulePoll(device, this.pollSeconds * (1 + this.jitter * (2 * Math.random() - 1)));
        this.settleWaiters();
      }
    }
  }

  private schedulePoll(device: SimDevice, seconds: number): void {
    clearTimeout(device.timer);
    device.timer = setTimeout(
      () => {
        device.timer = undefined;
        this.scheduler.wake(device);
      },
      Math.min(seconds * 1000, MAX_TIMER_MS),
    );
  }

  private settleWaiters(): void {
    for (const waiter of [...this.waiters]) if (this.reached(waiter.version)) waiter.resolve(true);
  }

  private activityOf(device: SimDevice): DeviceActivity {
    if (this.scheduler.isWaiting(device)) return 'queued';
    if (!this.scheduler.isRunning(device)) return 'idle';
    const state = device.agent.fumoState;
    if (state === FumoState.Downloading) return 'downloading';
    if (state === FumoState.ReadyToUpdate || state === FumoState.Updating) return 'installing';
    return 'session';
  }

  private log(line: string): void {
    this.options.log?.(line);
  }
}

/** Creates, runs and stops a fleet: until it reaches a version, a duration passes or the signal fires. */
export interface RunFleetOptions extends FleetOptions {
  untilVersion?: string;
  durationSeconds?: number;
  signal?: AbortSignal;
  /** Called every `statusEverySeconds` (default 5) with the counts. */
  onStatus?: (counts: FleetCounts) => void;
  statusEverySeconds?: number;
}

export async function runFleet(options: RunFleetOptions): Promise<FleetSummary> {
  const fleet = await Fleet.create(options);
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const timers: NodeJS.Timeout[] = [];
  if (options.durationSeconds !== undefined) timers.push(setTimeout(() => stop.abort(), options.durationSeconds * 1000));
  const { onStatus } = options;
  if (onStatus) timers.push(setInterval(() => onStatus(fleet.counts()), (options.statusEverySeconds ?? 5) * 1000));
  try {
    fleet.start();
    if (options.untilVersion !== undefined) await fleet.until(options.untilVersion, stop.signal);
    else if (!stop.signal.aborted) await new Promise((resolve) => stop.signal.addEventListener('abort', resolve, { once: true }));
  } finally {
    for (const timer of timers) clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    await fleet.stop();
  }
  return fleet.summary(options.untilVersion);
}

function checkOptions(options: FleetOptions): void {
  const bad = (message: string) => new AppError('VALIDATION', message);
  if (!Number.isSafeInteger(options.devices) || options.devices < 1) throw bad(`devices must be a whole number >= 1, got ${options.devices}`);
  if (options.pollSeconds !== undefined && !(options.pollSeconds > 0)) throw bad(`poll interval must be positive, got ${options.pollSeconds}`);
  if (options.firstPollSeconds !== undefined && !(options.firstPollSeconds >= 0)) throw bad(`first poll must be 0 or more seconds, got ${options.firstPollSeconds}`);
  if (options.requestShare !== undefined && !(options.requestShare >= 0 && options.requestShare <= 1)) throw bad(`request share must be in [0, 1], got ${options.requestShare}`);
  if (options.jitter !== undefined && !(options.jitter >= 0 && options.jitter < 1)) throw bad(`jitter must be in [0, 1), got ${options.jitter}`);
  if (options.concurrency !== undefined && (!Number.isSafeInteger(options.concurrency) || options.concurrency < 1)) throw bad(`concurrency must be a whole number >= 1, got ${options.concurrency}`);
  if (options.servers !== undefined && (options.servers.length === 0 || options.servers.some((s) => !/^https?:\/\/[^/]/.test(s)))) throw bad(`servers must be one or more http:// or https:// URLs, got ${JSON.stringify(options.servers)}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9:._-]{0,100}$/.test(options.idPrefix ?? 'sim-')) throw bad(`id prefix ${JSON.stringify(options.idPrefix)} must be letters, digits, ":", ".", "_" or "-" (starting with a letter or digit)`);
}

export function deviceIds(prefix: string, count: number): string[] {
  const width = Math.max(4, String(count).length);
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i + 1).padStart(width, '0')}`);
}

/** Each device's DM password: its own, and the same on every run from the same data dir. */
function password(secret: string, id: string): string {
  return createHmac('sha256', secret).update(id).digest('base64url').slice(0, 32);
}

async function loadFleetFile(dataDir: string): Promise<{ file: FleetFile; fresh: boolean }> {
  const path = join(dataDir, 'fleet.json');
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (text === undefined) {
    const file: FleetFile = { format: 1, secret: randomBytes(32).toString('hex') };
    await saveFleetFile(dataDir, file);
    return { file, fresh: true };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = fleetFileSchema.safeParse(json);
  if (!parsed.success) throw new AppError('VALIDATION', `${path} is not a fleet file of fota simulate; give another --data dir`);
  return { file: parsed.data, fresh: false };
}

async function saveFleetFile(dataDir: string, file: FleetFile): Promise<void> {
  await writeFileAtomic(join(dataDir, 'fleet.json'), `${JSON.stringify(file, null, 2)}\n`, 0o600);
}

/** Runs `work` on every item, `parallel` at a time; the first failure stops the rest. */
async function inBatches<T>(items: readonly T[], parallel: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < items.length && !failed) {
      const item = items[next++];
      try {
        if (item !== undefined) await work(item);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

function succeeded(code: number): boolean {
  return code >= 200 && code < 300;
}

/** A device's user answers by a fraction fixed by its id: the same users reject on every run. */
function userRoll(id: string): number {
  return createHash('sha256').update(`fota-simulate-user:${id}`).digest().readUInt32BE(0) / 2 ** 32;
}

/** The device's user rejected the last prompt, or left three unanswered (the server gives up then). */
function userDeclined(agent: DeviceAgent): boolean {
  const outcomes = agent.prompts.map((p) => p.outcome);
  return outcomes.at(-1) === 'rejected' || outcomes.at(-1) === 'cancelled' || outcomes.filter((o) => o === 'timeout').length >= 3;
}

function userAnswersOf(agents: DeviceAgent[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const agent of agents) for (const { outcome } of agent.prompts) counts[outcome] = (counts[outcome] ?? 0) + 1;
  return counts;
}
