// The reference FUMO device agent: a DM client with a DM tree, a FUMO job that downloads,
// checks and installs into A/B slots, and a Generic Alert 1226 that reports the result in
// a new session. Everything it must not forget (FUMO State, the job and how far it got,
// the result it owes the server, installed slots, the DM nonce) is in `<data>/state.json`,
// so an agent killed at any moment carries on when started again.
//
// An honest client: it knows the server only through HTTP (POST /dm, GET of the PkgURL)
// and trusts a package only through the manufacturer keys pinned in its config.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeltaPool } from '../delta/pool.ts';
import { AppError } from '../errors.ts';
import type { DeviceFacts } from '../packages/verify.ts';
import type { TrustPolicy } from '../signing/envelope.ts';
import { credentialLeaves, readBootstrapFile, treeAccount } from './bootstrap.ts';
import type { Command } from '../omadm/codec/message.ts';
import { DmClient, type GenericAlert } from './dm-client.ts';
import { PackageDownloader } from './download.ts';
import { type DownloadFaults, FaultInjector } from './faults.ts';
import { type ImageFiles, localImages } from './images.ts';
import { installPackage } from './install.ts';
import { DeviceResult } from './results.ts';
import { describeFumoResult } from '../omadm/fumo-results.ts';
import { ScomoAgent, type ScomoFaults, type ScomoJobOutcome, initialScomoState } from './scomo.ts';
import { defaultAnswer, type UiOutcome, type UiPrompt } from '../omadm/user-interaction.ts';
import { type SlotName, Slots } from './slots.ts';
import { type AgentState, FUMO_OPERATIONS, type FumoJob, type FumoOperation, FumoState, initialState, type PendingReport, type SlotInfo, StateFile } from './state.ts';
import { DmTree, FUMO_NODE, type NodeValue, normalize } from './tree.ts';
import { DM_ACCOUNT_ADDR, type DeployedApp, EventLog, helpdeskNodes, WRITABLE_SETTINGS } from './helpdesk-nodes.ts';

export interface AgentOptions {
  /** The fota server (http://host:8080) or its DM endpoint (…/dm); default: the address in the device's DMAcc (a bootstrap). */
  serverUrl?: string;
  /**
   * Picks the server (as `serverUrl`) each new DM session starts at, for a fleet spread
   * over several servers with no load balancer in front; default: always `serverUrl`. A
   * session then stays where its RespURI points.
   */
  nextServer?: () => string;
  devId: string;
  model: string;
  manufacturer?: string;
  /** Credentials, for a device with no DMAcc (no bootstrap); a DMAcc in the tree wins. */
  username?: string;
  password?: string;
  /**
   * First start only: a bootstrap document (CP or DM bootstrap WBXML, from an enrollment
   * export) whose DM account goes into ./DMAcc: a simulated factory flash (bootstrap.ts).
   */
  bootstrap?: string;
  dataDir: string;
  /** First start only: the image the device runs, and its version (FwV). */
  image?: string;
  version?: string;
  /** First start only: the device's own security version (anti-rollback floor). */
  securityVersion?: number;
  /**
   * The keys the device pins: delivery keys (the server's package signature) and, with
   * `offline`, the manufacturer's root of offline keys whose target statement every
   * package must carry. Rotations the agent follows are kept in its state.
   */
  trust: TrustPolicy;
  encoding?: 'xml' | 'wbxml';
  hwVersion?: string;
  swVersion?: string;
  /** The subscriber identity the device reports as ./DevDetail/Ext/IMSI (a SIM; none when absent). */
  imsi?: string;
  pool?: DeltaPool;
  download?: {
    retries?: number;
    chunkRetries?: number;
    retryDelayMs?: number;
    idleTimeoutMs?: number;
    /** Largest range one payload request asks for (default: the rest of the file). */
    requestBytes?: number;
    /** Test faults: connection cuts and bytes corrupted in transit. */
    faults?: DownloadFaults;
    /** A slow link: payload bytes are read no faster than this. */
    bytesPerSecond?: number;
    onProgress?: (progress: { received: number }) => void;
  };
  /** How images are hashed and placed (default: one private copy each, hashed when asked). */
  images?: ImageFiles;
  /**
   * Simulated device trouble (fleet simulator, tests): the FUMO result code a job reports
   * instead of downloading (e.g. 501, no room for the package) or instead of installing a
   * package that passed every check (e.g. 410, or 502 out of memory). Off by default.
   */
  failures?: {
    download?: number;
    install?: number;
    loseNewCredentials?: boolean;
    /** Once: the device keeps the new DMAcc credentials the server Replaces, but the session drops before their Status is sent. */
    loseRotationStatus?: boolean;
    /** This many sessions: the device carries out the server's writes of settings (Add/Replace outside ./DMAcc and ./FUMO), then drops the session before their Statuses are sent. */
    dropAfterWrites?: number;
  };
  /** Applications the device runs (./SCOMO/Inventory/Deployed); none: no SCOMO on the device. */
  apps?: readonly DeployedApp[];
  /** Simulated SCOMO trouble: the result code an application operation reports instead (e.g. 1405). */
  scomoFailures?: ScomoFaults;
  /**
   * The device's log at ./DevDetail/Ext/Log, this many bytes (a large object when it
   * passes the server's MaxMsgSize); none when left out.
   */
  logBytes?: number;
  /** Largest DM message and largest object (in chunks) the device takes (SyncHdr Meta). */
  maxMsgSize?: number;
  maxObjSize?: number;
  /** Sees every DM message the agent sends and the reply (tests, traces). */
  tap?: (sent: Uint8Array, received: Uint8Array) => void;
  /**
   * The device's user, for user-interaction alerts (1100-1104): the share of prompts
   * rejected and the share left unanswered (the default response, else a timeout); the
   * rest are accepted. Off by default: every prompt accepted.
   */
  user?: { rejectShare?: number; timeoutShare?: number; random?: () => number };
  /** Simulated locked settings: writes to these nodes (and below; "." for all) answer 425 (tree.ts). */
  refuseWrites?: readonly string[];
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/** What made the agent call in: its own poll, or a Package 0 (server-initiated, Alert 1200). */
export interface SessionTrigger {
  /** The SessionID the Package 0 named (uppercase hex). */
  sessionId: string;
}

export interface JobOutcome {
  operation: FumoOperation;
  correlator?: string;
  resultCode: number;
  reason: string;
}

export interface RunReport {
  sessions: number;
  jobs: JobOutcome[];
  firmwareVersion: string;
  /** SCOMO operations run in this run (application installs, removals, ...). */
  apps: ScomoJobOutcome[];
  /** The update this run asked for, the server's Status on the request and what it said. */
  request?: { kind: UpdateRequest; status?: number; said?: string };
}

/** An update the device asks for itself, or its user asks for (Generic Alert 1226). */
export type UpdateRequest = 'device' | 'user';

const REQUEST_TYPE: Record<UpdateRequest, string> = {
  device: 'org.openmobilealliance.dm.firmwareupdate.devicerequest',
  user: 'org.openmobilealliance.dm.firmwareupdate.userrequest',
};

const ALERT_TYPE: Record<FumoOperation, string> = {
  DownloadAndUpdate: 'org.openmobilealliance.dm.firmwareupdate.downloadandupdate',
  Download: 'org.openmobilealliance.dm.firmwareupdate.download',
  Update: 'org.openmobilealliance.dm.firmwareupdate.update',
};

const DEFAULT_HW_VERSION = '1.0';
/** The largest object the agent takes in chunks unless told (SyncHdr MaxObjSize). */
const DEFAULT_MAX_OBJ_SIZE = 8 * 1024 * 1024;

/** Sessions in one run: the poll, then a report (which may bring the next job), bounded. */
const MAX_ROUNDS = 4;

export class DeviceAgent {
  readonly slots: Slots;
  readonly tree: DmTree;
  /** The event log a helpdesk reads (helpdesk-nodes.ts): what this agent logged, timestamped. */
  readonly eventLog = new EventLog();
  /** Application components and SCOMO operations. */
  readonly scomo: ScomoAgent;
  /** The downloader of the last job (tests read its request log). */
  lastDownloader: PackageDownloader | undefined;
  /** Prompts shown to the user and how they were answered, in order (tests and the simulator read them). */
  readonly prompts: Array<{ prompt: UiPrompt; outcome: UiOutcome }> = [];
  private log_: string | undefined;
  private readonly stateFile: StateFile;
  private readonly client: DmClient;
  private readonly pool: DeltaPool;
  private readonly images: ImageFiles;
  /** One for the agent's life: an injected fault fires once, not once per job. */
  private readonly faults: FaultInjector;
  /** The lose-new-credentials fault fired already (it fires once). */
  private credentialsLost = false;
  private rotationStatusLost = false;
  private writeDrops = 0;

  private constructor(
    readonly options: AgentOptions,
    private state: AgentState,
    /** The running slot: read from the pointer file at open, changed only by a switch. */
    private active: SlotName,
  ) {
    this.slots = new Slots(options.dataDir);
    this.stateFile = new StateFile(options.dataDir);
    this.pool = options.pool ?? new DeltaPool({ concurrency: 1 });
    this.images = options.images ?? localImages;
    this.faults = new FaultInjector(options.download?.faults);
    // Settings a server may change (a helpdesk fix), set to defaults on the first start.
    for (const [uri, value] of Object.entries(WRITABLE_SETTINGS)) state.values[uri] ??= value;
    // The stand-in account's server address is a setting a server may move (a profile); a
    // bootstrapped device's ./DMAcc is its own already.
    if (options.serverUrl && !treeAccount(state.values)) state.values[DM_ACCOUNT_ADDR] ??= dmUrl(options.serverUrl);
    this.tree = new DmTree(() => this.fixedNodes(), state.values, options.refuseWrites ?? []);
    this.eventLog.add(`agent started: firmware ${state.slots[active]?.version ?? 'unknown'} in slot ${active}`);
    state.scomo ??= initialScomoState();
    this.scomo = new ScomoAgent({ dir: join(options.dataDir, 'apps'), model: options.model, trust: options.trust, pool: this.pool, ...(options.scomoFailures ? { faults: options.scomoFailures } : {}), values: state.values, log: (line) => this.log(line) }, state.scomo);
    this.client = new DmClient({
      serverUrl: dmUrl(options.serverUrl ?? ''),
      devId: options.devId,
      username: options.username ?? '',
      password: options.password ?? '',
      ...(options.encoding ? { encoding: options.encoding } : {}),
      ...(options.maxMsgSize ? { maxMsgSize: options.maxMsgSize } : {}),
      maxObjSize: options.maxObjSize ?? DEFAULT_MAX_OBJ_SIZE,
      ...(options.tap ? { tap: options.tap } : {}),
      // A log of megabytes takes a message per chunk.
      maxMessages: 200,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /** Opens the agent's data dir; on the first start installs `image` as slot A. */
  static async open(options: AgentOptions): Promise<DeviceAgent> {
    await mkdir(options.dataDir, { recursive: true });
    const stateFile = new StateFile(options.dataDir);
    const slots = new Slots(options.dataDir);
    let state = await stateFile.load();
    let active = await slots.active();
    if (!state || !active || !state.slots[active]) {
      if (!options.image || !options.version) {
        throw new AppError('VALIDATION', `${options.dataDir} holds no installed image yet: give the image the device runs and its version`);
      }
      const images = options.images ?? localImages;
      await slots.install(options.image, images);
      const digest = await images.hash(slots.path('a'));
      const values = options.bootstrap ? await readBootstrapFile(options.bootstrap, options.devId) : {};
      if (options.bootstrap) options.log?.(`bootstrapped ./DMAcc from ${options.bootstrap}`);
      state = { ...initialState(), values, ...(state ? { clientNonce: state.clientNonce } : {}), securityVersion: options.securityVersion ?? 0, slots: { a: { version: options.version, sha256: digest.sha256, size: digest.size } } };
      await stateFile.save(state);
      active = 'a';
      options.log?.(`installed ${options.image} as slot a, version ${options.version}`);
    }
    if (!treeAccount(state.values) && (!options.serverUrl || !options.username || !options.password)) {
      throw new AppError('VALIDATION', 'the device has no DM account: give a bootstrap document, or the server URL, username and password');
    }
    return new DeviceAgent(options, state, active);
  }

  get firmwareVersion(): string {
    return this.installed().version;
  }

  get fumoState(): number {
    return this.state.fumoState;
  }

  /** A FUMO result is waiting to be reported (the session that carried it failed). */
  get owesReport(): boolean {
    return this.state.report !== undefined;
  }

  /** A copy of what is on disk now (for tests and status output). */
  snapshot(): AgentState {
    return structuredClone(this.state);
  }

  activeImagePath(): string {
    return this.slots.path(this.active);
  }

  /**
   * One poll: a session; if the server starts a FUMO job, the job and a report session
   * (which may start the next job). A job or report left by an earlier run goes first.
   * With a trigger (a Package 0 arrived), the first session is the server-initiated one.
   */
  async runOnce(trigger?: SessionTrigger, request?: UpdateRequest): Promise<RunReport> {
    const report: RunReport = { sessions: 0, jobs: [], apps: [], firmwareVersion: this.firmwareVersion };
    for (let round = 0; round < MAX_ROUNDS; round++) {
      if (this.state.job) report.jobs.push(await this.runJob(this.state.job));
      report.apps.push(...(await this.scomo.runJobs()));
      await this.save();
      const answer = await this.session(round === 0 ? trigger : undefined, round === 0 ? request : undefined);
      if (round === 0 && request) {
        report.request = { kind: request, ...answer };
        this.log(`asked for an update (${request} request): the server answered ${answer.status ?? 'nothing'}${answer.said ? `: ${answer.said}` : ''}`);
      }
      report.sessions += 1;
      if (!this.state.job && !this.scomo.busy) break;
    }
    report.firmwareVersion = this.firmwareVersion;
    return report;
  }

  /** Polls every `pollSeconds` until the signal fires; a failed poll is logged and retried (the first one asks for an update with `firstRequest`). */
  async run(pollSeconds: number, signal?: AbortSignal, firstRequest?: UpdateRequest): Promise<void> {
    let request = firstRequest;
    while (!signal?.aborted) {
      try {
        await this.runOnce(undefined, request);
        request = undefined;
      } catch (err) {
        if (signal?.aborted) break;
        if (!(err instanceof AppError)) throw err;
        this.log(`session failed: ${err.message}`);
      }
      try {
        await sleep(pollSeconds * 1000, undefined, signal ? { signal } : {});
      } catch {
        break;
      }
    }
  }

  // -------------------------------------------------------------------------------------
  // DM session

  private async session(trigger?: SessionTrigger, request?: UpdateRequest): Promise<{ status?: number; said?: string }> {
    const owed = this.state.report;
    const alerts: GenericAlert[] = owed ? [{ source: owed.execUri, type: ALERT_TYPE[owed.operation], resultCode: owed.resultCode, ...(owed.correlator ? { correlator: owed.correlator } : {}) }] : [];
    // Alongside any report owed (a deployment that report is for counts as still under way).
    const asking = request === undefined ? undefined : alerts.push({ source: FUMO_NODE, type: REQUEST_TYPE[request] }) - 1;
    const account = treeAccount(this.state.values);
    const credentialsBefore = credentialLeaves(this.state.values);
    const serverUrl = this.options.nextServer ? this.options.nextServer() : (account?.address ?? this.options.serverUrl);
    const scomoFrom = alerts.length;
    const scomoAlerts = this.scomo.alerts();
    alerts.push(...scomoAlerts);
    try {
      const result = await this.client.session({
        ...(serverUrl ? { serverUrl: dmUrl(serverUrl) } : {}),
        ...(account ? { account: { username: account.client.name, password: account.client.secret } } : {}),
        ...(trigger ? { alert: '1200' as const, sessionId: trigger.sessionId } : {}),
        tree: this.tree,
        exec: (uri, correlator) => this.exec(uri, correlator),
        ...(this.state.clientNonce ? { clientNonce: this.state.clientNonce } : {}),
        genericAlerts: alerts,
        userAlert: (prompt) => this.askUser(prompt),
        onNonce: (nonce) => {
          this.state.clientNonce = nonce;
        },
        dropAfter: (commands) => this.dropsSession(commands),
      });
      this.eventLog.add(`DM session ${trigger ? `opened on a Package 0 (session ${trigger.sessionId})` : 'polled'}: ${result.messages} messages${result.aborted ? ', aborted by the server' : ''}`);
      const ack = result.alertStatuses[0];
      if (owed && ack !== undefined) {
        this.log(`reported FUMO ${owed.resultCode} for ${owed.execUri}; the server answered ${ack}`);
        if (this.state.report === owed) delete this.state.report;
      }
      // OperationComplete reports the server answered are delivered; the rest go again next session.
      const acked = scomoAlerts.findIndex((_, i) => result.alertStatuses[scomoFrom + i] === undefined);
      this.scomo.acknowledge(acked === -1 ? scomoAlerts.length : acked);
      if (result.aborted) this.log('the server aborted the session (Alert 1223)');
      const status = asking === undefined ? undefined : result.alertStatuses[asking];
      const said = asking === undefined ? undefined : result.alertTexts[asking];
      return { ...(status === undefined ? {} : { status }), ...(said === undefined ? {} : { said }) };
    } finally {
      this.loseNewCredentials(credentialsBefore);
      await this.save();
    }
  }

  /** Simulated faults: the session drops right after the device carried out these commands (their Statuses are lost). */
  private dropsSession(commands: Command[]): boolean {
    const failures = this.options.failures ?? {};
    const written = commands.flatMap((c) => (c.kind === 'Add' || c.kind === 'Replace' ? c.items.map((i) => normalize(i.target ?? '')) : []));
    if (failures.loseRotationStatus && !this.rotationStatusLost && written.some((uri) => /^\.\/DMAcc\/[^/]+\/AppAuth\//.test(uri))) {
      this.rotationStatusLost = true;
      this.log('simulated fault: the session dropped after the new DM credentials were written; their Status never reached the server');
      return true;
    }
    if ((failures.dropAfterWrites ?? 0) > this.writeDrops && written.some((uri) => !/^\.\/(DMAcc|FUMO)\//.test(uri))) {
      this.writeDrops += 1;
      this.log(`simulated fault: the session dropped after the server's writes were carried out (${this.writeDrops} of ${failures.dropAfterWrites})`);
      return true;
    }
    return false;
  }

  /** Simulated fault: the device acknowledged new DMAcc credentials but did not keep them (once). */
  private loseNewCredentials(before: Record<string, string>): void {
    if (!this.options.failures?.loseNewCredentials || this.credentialsLost) return;
    const now = credentialLeaves(this.state.values);
    if (JSON.stringify(now) === JSON.stringify(before)) return;
    Object.assign(this.state.values, before);
    this.credentialsLost = true;
    this.log('simulated fault: the new DM credentials were lost; the device is back on its old ones');
  }

  /** The DM Exec: FUMO operations are accepted (202) and run once the session is over. */
  private exec(uri: string, correlator: string | undefined): number {
    const path = normalize(uri);
    const scomo = this.scomo.exec(path, correlator);
    if (scomo !== undefined) return scomo;
    const operation = FUMO_OPERATIONS.find((op) => path === `${FUMO_NODE}/${op}`);
    if (!operation) return path.startsWith('./FUMO/') ? 405 : 406;
    if (this.state.job && this.state.job.phase !== 'pending') return 405;
    const pkgUrl = operation === 'Update' ? undefined : this.tree.values[`${path}/PkgURL`];
    this.state.job = { operation, execUri: path, ...(correlator ? { correlator } : {}), ...(pkgUrl ? { pkgUrl } : {}), phase: 'pending', acceptedAt: new Date().toISOString() };
    this.log(`accepted Exec ${path}${correlator ? ` (correlator ${correlator})` : ''}`);
    return 202;
  }

  /** The simulated user: rejects or stays silent by share, else accepts (choosing the first choice, typing the default). */
  private askUser(prompt: UiPrompt): { outcome: UiOutcome; values: string[] } {
    const user = this.options.user ?? {};
    const roll = (user.random ?? Math.random)();
    const reject = user.rejectShare ?? 0;
    const silent = user.timeoutShare ?? 0;
    let answer: { outcome: UiOutcome; values: string[] };
    if (prompt.kind === 'display') answer = { outcome: 'accepted', values: [] };
    else if (roll < reject) answer = { outcome: 'rejected', values: [] };
    else if (roll < reject + silent) answer = defaultAnswer(prompt);
    else answer = { outcome: 'accepted', values: prompt.kind === 'text' ? [prompt.options.defaultResponse ?? 'ok'] : prompt.kind === 'single' || prompt.kind === 'multiple' ? ['1'] : [] };
    this.prompts.push({ prompt, outcome: answer.outcome });
    this.log(`asked the user "${prompt.text}": ${answer.outcome}`);
    return answer;
  }

  /** The device's log: numbered lines, generated once, exactly `logBytes` long. */
  private logText(bytes: number): string {
    if (this.log_?.length !== bytes) {
      let text = '';
      for (let line = 1; text.length < bytes; line++) text += `${String(line).padStart(7, '0')} ${this.options.devId} event ok\n`;
      this.log_ = text.slice(0, bytes);
    }
    return this.log_;
  }

  /** The helpdesk's nodes; a bootstrapped device's ./DMAcc is its own (in the tree), not the helpdesk's stand-in. */
  private helpdeskNodes(): Record<string, NodeValue> {
    const o = this.options;
    // Once the SCOMO agent holds components, they are the device's applications; the
    // static list only stands in on a device that never took a SCOMO operation.
    const apps = o.apps && Object.keys(this.scomo.nodes()).length === 0 ? { apps: o.apps } : {};
    const nodes = helpdeskNodes({ username: o.username ?? '', log: this.eventLog, ...apps });
    if (!treeAccount(this.state.values)) return nodes;
    return Object.fromEntries(Object.entries(nodes).filter(([uri]) => !uri.startsWith('./DMAcc/')));
  }

  private fixedNodes(): Record<string, NodeValue> {
    const o = this.options;
    const chr = (data: string): NodeValue => ({ data, format: 'chr' });
    const int = (data: number): NodeValue => ({ data: String(data), format: 'int' });
    return {
      ...this.helpdeskNodes(),
      './DevInfo/DevId': chr(o.devId),
      './DevInfo/Man': chr(o.manufacturer ?? 'acme'),
      './DevInfo/Mod': chr(o.model),
      './DevInfo/DmV': chr('1.2'),
      './DevInfo/Lang': chr('en-US'),
      './DevDetail/DevTyp': chr('device'),
      './DevDetail/OEM': chr(o.manufacturer ?? 'acme'),
      './DevDetail/FwV': chr(this.firmwareVersion),
      './DevDetail/SwV': chr(o.swVersion ?? 'fota-agent 1'),
      './DevDetail/HwV': chr(o.hwVersion ?? DEFAULT_HW_VERSION),
      './DevDetail/URI/MaxDepth': int(0),
      './DevDetail/URI/MaxTotLen': int(0),
      './DevDetail/URI/MaxSegLen': int(0),
      [`${FUMO_NODE}/State`]: int(this.state.fumoState),
      ...this.scomo.nodes(),
      ...(o.logBytes === undefined ? {} : { './DevDetail/Ext/Log': chr(this.logText(o.logBytes)) }),
      './DevDetail/LrgObj': { data: 'true', format: 'bool' },
      ...(o.imsi === undefined ? {} : { './DevDetail/Ext/IMSI': chr(o.imsi) }),
    };
  }

  // -------------------------------------------------------------------------------------
  // The FUMO job

  private async runJob(job: FumoJob): Promise<JobOutcome> {
    const downloader = this.downloader();
    const failures = this.options.failures ?? {};
    if (job.operation !== 'Update' && job.phase !== 'updating') {
      if (failures.download !== undefined) {
        this.state.fumoState = FumoState.DownloadFailed;
        return this.finish(job, failures.download, 'simulated failure: the download could not start (no room for the package)');
      }
      job.phase = 'downloading';
      await this.setFumoState(FumoState.Downloading);
      this.log(`downloading ${job.pkgUrl ? 'the package' : '(no PkgURL set)'}`);
      const got = await downloader.download(job.pkgUrl ?? '');
      if (!got.ok) {
        this.state.fumoState = FumoState.DownloadFailed;
        return this.finish(job, got.resultCode, got.reason);
      }
      if (job.operation === 'Download') {
        this.state.fumoState = FumoState.DownloadComplete;
        return this.finish(job, DeviceResult.Success, `downloaded ${got.manifest.target.version}; waiting for the Update Exec`);
      }
      this.state.fumoState = FumoState.ReadyToUpdate;
    }
    job.phase = 'updating';
    await this.save();
    const pkg = await downloader.completed();
    if (!pkg) {
      this.state.fumoState = FumoState.UpdateFailedNoPackage;
      return this.finish(job, DeviceResult.UpdateFailed, 'there is no downloaded package to install (Exec Download first)');
    }
    await this.setFumoState(FumoState.Updating);
    const active = this.active;
    const current = this.installed();
    if (current.sha256 === pkg.manifest.target.sha256) {
      // Killed after the switch but before the report: the update is already in place.
      await downloader.discard();
      this.state.fumoState = FumoState.UpdateOkNoPackage;
      return this.finish(job, DeviceResult.Success, `version ${current.version} is installed`);
    }
    if (failures.install !== undefined) {
      await downloader.discard();
      this.state.fumoState = FumoState.UpdateFailedNoPackage;
      return this.finish(job, failures.install, 'simulated failure: the install did not complete');
    }
    const inactive = Slots.other(active);
    this.log(`installing ${pkg.manifest.target.version} (${pkg.manifest.payload.kind}) into slot ${inactive}`);
    const installed = await installPackage({
      packagePath: pkg.path,
      activePath: this.slots.path(active),
      inactivePath: this.slots.path(inactive),
      trust: this.trust(),
      model: this.options.model,
      hardwareVersion: this.hardwareVersion,
      securityVersion: this.state.securityVersion,
      pool: this.pool,
      hashImage: (path) => this.images.hash(path),
    });
    await downloader.discard();
    if (installed.ok && installed.root) {
      // Followed from the root this device trusts, each step signed by the keys before it.
      this.state.offlineRoot = installed.root;
      this.log(`following ${installed.root.signed.manufacturer}'s offline keys to root version ${installed.root.signed.version}`);
    }
    if (!installed.ok) {
      this.state.fumoState = FumoState.UpdateFailedNoPackage;
      return this.finish(job, installed.resultCode, installed.reason);
    }
    const { target } = installed.manifest;
    await this.images.installed(this.slots.path(inactive), { sha256: target.sha256, size: target.size });
    // The slot's facts are on disk before the pointer moves: whichever slot a crash leaves
    // active, its version is known.
    this.state.slots[inactive] = { version: target.version, sha256: target.sha256, size: target.size };
    await this.save();
    await this.slots.switchTo(inactive);
    this.active = inactive;
    this.state.securityVersion = Math.max(this.state.securityVersion, target.securityVersion);
    this.state.fumoState = FumoState.UpdateOkNoPackage;
    return this.finish(job, DeviceResult.Success, `installed ${target.version} in slot ${inactive}`);
  }

  private async finish(job: FumoJob, resultCode: number, reason: string): Promise<JobOutcome> {
    const report: PendingReport = { execUri: job.execUri, operation: job.operation, ...(job.correlator ? { correlator: job.correlator } : {}), resultCode, reason };
    this.state.report = report;
    delete this.state.job;
    await this.save();
    this.log(`FUMO ${job.operation}: ${describeFumoResult(resultCode)}: ${reason}`);
    return { operation: job.operation, ...(job.correlator ? { correlator: job.correlator } : {}), resultCode, reason };
  }

  private downloader(): PackageDownloader {
    const d = this.options.download ?? {};
    this.lastDownloader = new PackageDownloader({
      dir: join(this.options.dataDir, 'download'),
      trust: this.trust(),
      device: () => this.deviceFacts(),
      ...(d.retries === undefined ? {} : { retries: d.retries }),
      ...(d.chunkRetries === undefined ? {} : { chunkRetries: d.chunkRetries }),
      ...(d.retryDelayMs === undefined ? {} : { retryDelayMs: d.retryDelayMs }),
      ...(d.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: d.idleTimeoutMs }),
      ...(d.requestBytes === undefined ? {} : { requestBytes: d.requestBytes }),
      ...(d.bytesPerSecond === undefined ? {} : { bytesPerSecond: d.bytesPerSecond }),
      faults: this.faults,
      ...(d.onProgress ? { onProgress: d.onProgress } : {}),
      ...(this.options.signal ? { signal: this.options.signal } : {}),
      log: (line) => this.log(line),
    });
    return this.lastDownloader;
  }

  /** What a package is checked against: the image really on disk, not what the state says. */
  private async deviceFacts(): Promise<DeviceFacts> {
    const digest = await this.images.hash(this.activeImagePath());
    return { model: this.options.model, currentSha256: digest.sha256, securityVersion: this.state.securityVersion, hardwareVersion: this.hardwareVersion };
  }

  private get hardwareVersion(): string {
    return this.options.hwVersion ?? DEFAULT_HW_VERSION;
  }

  /** The configured trust, with the newest root of offline keys this device has followed. */
  private trust(): TrustPolicy {
    const { trust } = this.options;
    const followed = this.state.offlineRoot;
    if (!trust.offline || !followed || followed.signed.version <= trust.offline.root.signed.version) return trust;
    if (followed.signed.manufacturer !== trust.offline.root.signed.manufacturer) return trust;
    return { ...trust, offline: { ...trust.offline, root: followed } };
  }

  /** The running slot's version and hash, as recorded when it was installed. */
  private installed(): SlotInfo {
    const slot = this.state.slots[this.active];
    if (!slot) throw new AppError('VALIDATION', `no installed image recorded for slot ${this.active} in ${this.stateFile.path}`);
    return slot;
  }

  private async setFumoState(value: number): Promise<void> {
    this.state.fumoState = value;
    await this.save();
  }

  private async save(): Promise<void> {
    await this.stateFile.save(this.state);
  }

  private log(line: string): void {
    this.eventLog.add(line);
    this.options.log?.(line);
  }
}

/** The DM endpoint of a server given by its base URL (or already by its DM URL). */
export function dmUrl(server: string): string {
  const trimmed = server.replace(/\/+$/, '');
  return trimmed.endsWith('/dm') ? trimmed : `${trimmed}/dm`;
}
