// The server's configuration: read from the environment once, validated, with a message
// naming the variable when a value is wrong. Nothing else reads process.env.
import { resolve } from 'node:path';
import { z } from 'zod';
import { AppError } from './errors.ts';

const positiveInt = z.coerce.number().int().positive();
const onOff = z.enum(['on', 'off', 'true', 'false', '1', '0']);

/**
 * A PostgreSQL connection URL (FOTA_DATABASE_URL, --database). Never echoed in a message:
 * it usually carries a password.
 */
export function isDatabaseUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '';
  } catch {
    return false;
  }
}
const DATABASE_URL_RULE = 'must be a postgres:// or postgresql:// URL with a host, e.g. postgres://fota:secret@db.example:5432/fota';

/** Checks a database URL given outside the environment (a command's --database) with the same rule and message. */
export function databaseUrlOption(text: string, source: string): string {
  if (!isDatabaseUrl(text)) throw new AppError('VALIDATION', `${source} ${DATABASE_URL_RULE}`);
  return text;
}

const envSchema = z.object({
  FOTA_DATA: z.string().min(1).default('./data'),
  FOTA_ARTIFACTS: z.string().min(1).default('./artifacts'),
  FOTA_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  FOTA_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  FOTA_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  FOTA_MASTER_KEY: z.string().optional(),
  FOTA_S3_ENDPOINT: z.url().optional(),
  FOTA_S3_BUCKET: z.string().min(3).optional(),
  FOTA_S3_ACCESS_KEY: z.string().optional(),
  FOTA_S3_SECRET_KEY: z.string().optional(),
  FOTA_MAX_UPLOAD_BYTES: positiveInt.default(4 * 1024 * 1024 * 1024),
  FOTA_DELTA_SOURCES: positiveInt.default(5),
  FOTA_DELTA_MEMORY_MB: positiveInt.optional(),
  FOTA_DELTA_CONCURRENCY: positiveInt.optional(),
  FOTA_DELTA_CACHE: z.string().min(1).optional(),
  FOTA_MAX_DELTA_RATIO: z.coerce.number().gt(0).max(1).default(0.6),
  FOTA_JOB_ATTEMPTS: positiveInt.default(3),
  FOTA_JOB_LEASE_MS: positiveInt.default(30_000),
  FOTA_JOB_POLL_MS: positiveInt.default(1_000),
  FOTA_JOBS: onOff.default('on'),
  FOTA_HEALTH_TIMEOUT_MS: positiveInt.default(2_000),
  FOTA_DATABASE_URL: z.string().refine(isDatabaseUrl, DATABASE_URL_RULE).optional(),
  FOTA_GC_GRACE_MINUTES: z.coerce.number().positive().default(60),
  FOTA_QUERY_EXPIRY_HOURS: positiveInt.default(24),
  FOTA_DM_SERVER_ID: z.string().min(1).max(255).default('fota'),
  FOTA_DM_MAX_MESSAGE_BYTES: positiveInt.default(256 * 1024),
  FOTA_DM_MAX_OBJECT_BYTES: positiveInt.default(16 * 1024 * 1024),
  FOTA_DM_SESSION_IDLE_SECONDS: positiveInt.default(300),
  FOTA_DM_AUTH_MAX_FAILURES: positiveInt.default(10),
  FOTA_DM_AUTH_LOCKOUT_SECONDS: positiveInt.default(300),
  FOTA_DM_ADDRESS_MAX_FAILURES: z.coerce.number().int().min(0).default(100),
  FOTA_INVENTORY_MAX_AGE_SECONDS: positiveInt.default(24 * 3600),
  FOTA_NOTIFY_WEBHOOK: z.url({ protocol: /^https?$/ }).optional(),
  FOTA_WEBHOOK_ALLOW_PRIVATE: z.enum(['true', 'false', '1', '0']).default('false'),
  FOTA_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  FOTA_CAMPAIGN_TICK_MS: positiveInt.default(5_000),
  FOTA_LEASE_MS: positiveInt.default(15_000),
  FOTA_CAMPAIGN_EVALUATE_MS: z.coerce.number().int().min(0).default(1_000),
  FOTA_RETRY_BACKOFF_SECONDS: z.coerce.number().min(0).default(60),
  // 0 holds campaign wake-ups: the queue is kept and devices update when they poll.
  FOTA_NOTIFY_PER_SECOND: z.coerce.number().int().nonnegative().default(50),
  FOTA_DEPLOYMENT_TIMEOUT_MINUTES: z.coerce.number().positive().default(120),
  FOTA_FOUR_EYES: z.enum(['true', 'false', '1', '0']).default('false'),
  FOTA_DOWNLOAD_CACHE_MB: z.coerce.number().int().min(0).default(32),
  FOTA_DOWNLOAD_REDIRECT: z.enum(['off', 's3']).default('off'),
  FOTA_DOWNLOAD_SENDFILE: z.enum(['on', 'off']).default('on'),
  // nginx's send_timeout: a client that takes no byte of a download for this long is cut off.
  FOTA_DOWNLOAD_STALL_SECONDS: z.coerce.number().positive().max(24 * 3600).default(60),
  // nginx's limit_conn, per deployment: a device needs one at a time, a few while lost ones end.
  FOTA_DOWNLOAD_MAX_PER_DEPLOYMENT: z.coerce.number().int().min(1).max(10_000).default(4),
  FOTA_DOWNLOAD_REDIRECT_SECONDS: z.coerce.number().int().min(1).max(7 * 24 * 3600).default(60),
  FOTA_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface S3Config {
  endpoint: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
}

export interface DownloadConfig {
  /** Package bytes kept in memory for downloads from the local artifact directory (src/download/block-cache.ts). */
  cacheBytes: number;
  /**
   * 's3': after checking and counting a download, answer with a redirect to a presigned
   * URL of the object store, which then serves the bytes (needs the S3 artifact store).
   */
  redirect: 'off' | 's3';
  /** How long a presigned download URL stays valid. */
  redirectTtlSeconds: number;
  /**
   * Local packages go from the file to the socket by sendfile(2) where the native addon
   * is built (src/download/sendfile.ts); false copies them through JavaScript.
   */
  sendfile: boolean;
  /**
   * A download whose client takes no byte for this long is cut off (src/download/stall.ts),
   * so clients that stop reading cannot hold sockets and descriptors for ever.
   */
  stallSeconds: number;
  /**
   * Downloads of one deployment under way at once in this process (src/download/under-way.ts);
   * one more is answered 503 with Retry-After, so a link's holder cannot open connections
   * without end.
   */
  maxPerDeployment: number;
}

export interface Config {
  dataDir: string;
  artifactsDir: string;
  port: number;
  adminToken?: string;
  /** When set, /metrics answers only a scraper sending it as a bearer token (else it is open). */
  metricsToken?: string;
  /** 32-byte key that encrypts signing keys at rest; else a key file in dataDir. */
  masterKey?: Uint8Array;
  s3?: S3Config;
  maxUploadBytes: number;
  /** How many recent ready builds of a model each new build gets a delta from. */
  deltaSources: number;
  deltaMemoryBytes?: number;
  deltaConcurrency?: number;
  /** Finished diffs kept by content and reused for the same pair (src/delta/pool.ts); off unless set. */
  deltaCacheDir?: string;
  maxDeltaRatio: number;
  jobAttempts: number;
  /** A job claim lasts this long without renewal: how soon a dead server's jobs are retried. */
  jobLeaseMs: number;
  /** How often a job runner looks for queued jobs it was not told about (another process queued them). */
  jobPollMs: number;
  /** Whether `fota serve` runs package jobs itself; off (`--no-jobs`, FOTA_JOBS=off) leaves them to `fota worker`. */
  jobs: boolean;
  /** /healthz waits this long for the database and the object store before it calls one unreachable. */
  healthTimeoutMs: number;
  /** PostgreSQL instead of the SQLite file in dataDir (scale-out); validated here, not wired yet. */
  databaseUrl?: string;
  /** Unreferenced artifacts are removed (fota gc, the sweep at start) only once older than this. */
  gcGraceMs: number;
  /** A helpdesk query whose reads the device has not picked up after this long ends (devices/helpdesk/cancel.ts). */
  queryExpiryMs: number;
  logLevel: z.infer<typeof envSchema>['FOTA_LOG_LEVEL'];
  download: DownloadConfig;
  dm: {
    /** The server's name in DM (SyncHdr Source, server Cred, Package 0). */
    serverId: string;
    /** Largest DM message the server reads; larger ones get HTTP 413. */
    maxMessageBytes: number;
    /** Largest large object (DM 1.2 chunks over several messages) the server takes from a device; larger ones get 413. */
    maxObjectBytes: number;
    sessionIdleMs: number;
    /** Online guessing: consecutive failed authentications lock a device, many from one address lock the address. */
    auth: {
      /** Failed authentications in a row (no success between) that lock a device for `lockoutMs`. */
      maxFailures: number;
      lockoutMs: number;
      /** Failed authentications from one address within `lockoutMs` that lock it for as long; 0: no address limit. */
      addressMaxFailures: number;
    };
    /** DevDetail values older than this are read again at the next session. */
    inventoryMaxAgeMs: number;
    notifyWebhook?: string;
    /** Device webhooks may point at loopback, private and other non-public addresses (src/dm/webhook-address.ts). */
    allowPrivateWebhooks: boolean;
    /** The base URL devices reach the server at (else taken from each request). */
    publicUrl?: string;
  };
  campaigns: {
    /** How often the engine checks timeouts, soak times and dynamic cohorts. */
    tickMs: number;
    /** How long the timed campaign work stays with a process that stopped renewing its lease (it died). */
    leaseMs: number;
    /** Device results of one campaign are evaluated at most this often (0: after each). */
    evaluateEveryMs: number;
    /** First wait after a transient failure before the device is commanded again; doubles per attempt. */
    retryBackoffMs: number;
    /** Package 0 notifications sent per second when a stage starts. */
    notifyPerSecond: number;
    /** A campaign's deployment timeout unless the campaign sets its own. */
    defaultTimeoutMs: number;
    /** New campaigns require an approver other than their creator unless they say otherwise. */
    fourEyes: boolean;
  };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('VALIDATION', `configuration: ${issue ? `${issue.path.join('.')} ${issue.message}` : 'invalid'}`);
  }
  const e = parsed.data;
  const s3Vars = [e.FOTA_S3_ENDPOINT, e.FOTA_S3_BUCKET, e.FOTA_S3_ACCESS_KEY, e.FOTA_S3_SECRET_KEY];
  if (s3Vars.some((v) => v !== undefined) && !s3Vars.every((v) => v !== undefined)) {
    throw new AppError('VALIDATION', 'configuration: FOTA_S3_ENDPOINT, FOTA_S3_BUCKET, FOTA_S3_ACCESS_KEY and FOTA_S3_SECRET_KEY go together; set all four or none');
  }
  if (e.FOTA_DOWNLOAD_REDIRECT === 's3' && e.FOTA_S3_ENDPOINT === undefined && !overrides.s3) throw new AppError('VALIDATION', DOWNLOAD_REDIRECT_NEEDS_S3);
  return {
    dataDir: resolve(e.FOTA_DATA),
    artifactsDir: resolve(e.FOTA_ARTIFACTS),
    port: e.FOTA_PORT,
    ...(e.FOTA_ADMIN_TOKEN ? { adminToken: e.FOTA_ADMIN_TOKEN } : {}),
    ...(e.FOTA_METRICS_TOKEN ? { metricsToken: e.FOTA_METRICS_TOKEN } : {}),
    ...(e.FOTA_MASTER_KEY ? { masterKey: parseMasterKey(e.FOTA_MASTER_KEY) } : {}),
    ...(e.FOTA_S3_ENDPOINT && e.FOTA_S3_BUCKET && e.FOTA_S3_ACCESS_KEY && e.FOTA_S3_SECRET_KEY
      ? { s3: { endpoint: e.FOTA_S3_ENDPOINT, bucket: e.FOTA_S3_BUCKET, accessKey: e.FOTA_S3_ACCESS_KEY, secretKey: e.FOTA_S3_SECRET_KEY } }
      : {}),
    maxUploadBytes: e.FOTA_MAX_UPLOAD_BYTES,
    deltaSources: e.FOTA_DELTA_SOURCES,
    ...(e.FOTA_DELTA_MEMORY_MB ? { deltaMemoryBytes: e.FOTA_DELTA_MEMORY_MB * 1024 * 1024 } : {}),
    ...(e.FOTA_DELTA_CONCURRENCY ? { deltaConcurrency: e.FOTA_DELTA_CONCURRENCY } : {}),
    ...(e.FOTA_DELTA_CACHE ? { deltaCacheDir: resolve(e.FOTA_DELTA_CACHE) } : {}),
    maxDeltaRatio: e.FOTA_MAX_DELTA_RATIO,
    jobAttempts: e.FOTA_JOB_ATTEMPTS,
    jobLeaseMs: e.FOTA_JOB_LEASE_MS,
    jobPollMs: e.FOTA_JOB_POLL_MS,
    jobs: isOn(e.FOTA_JOBS),
    healthTimeoutMs: e.FOTA_HEALTH_TIMEOUT_MS,
    ...(e.FOTA_DATABASE_URL ? { databaseUrl: e.FOTA_DATABASE_URL } : {}),
    gcGraceMs: e.FOTA_GC_GRACE_MINUTES * 60_000,
    queryExpiryMs: e.FOTA_QUERY_EXPIRY_HOURS * 3_600_000,
    logLevel: e.FOTA_LOG_LEVEL,
    download: { cacheBytes: e.FOTA_DOWNLOAD_CACHE_MB * 1024 * 1024, redirect: e.FOTA_DOWNLOAD_REDIRECT, redirectTtlSeconds: e.FOTA_DOWNLOAD_REDIRECT_SECONDS, sendfile: e.FOTA_DOWNLOAD_SENDFILE === 'on', stallSeconds: e.FOTA_DOWNLOAD_STALL_SECONDS, maxPerDeployment: e.FOTA_DOWNLOAD_MAX_PER_DEPLOYMENT },
    dm: {
      serverId: e.FOTA_DM_SERVER_ID,
      maxMessageBytes: e.FOTA_DM_MAX_MESSAGE_BYTES,
      maxObjectBytes: e.FOTA_DM_MAX_OBJECT_BYTES,
      sessionIdleMs: e.FOTA_DM_SESSION_IDLE_SECONDS * 1000,
      auth: { maxFailures: e.FOTA_DM_AUTH_MAX_FAILURES, lockoutMs: e.FOTA_DM_AUTH_LOCKOUT_SECONDS * 1000, addressMaxFailures: e.FOTA_DM_ADDRESS_MAX_FAILURES },
      inventoryMaxAgeMs: e.FOTA_INVENTORY_MAX_AGE_SECONDS * 1000,
      ...(e.FOTA_NOTIFY_WEBHOOK ? { notifyWebhook: e.FOTA_NOTIFY_WEBHOOK } : {}),
      allowPrivateWebhooks: e.FOTA_WEBHOOK_ALLOW_PRIVATE === 'true' || e.FOTA_WEBHOOK_ALLOW_PRIVATE === '1',
      ...(e.FOTA_PUBLIC_URL ? { publicUrl: e.FOTA_PUBLIC_URL.replace(/\/$/, '') } : {}),
    },
    campaigns: {
      tickMs: e.FOTA_CAMPAIGN_TICK_MS,
      leaseMs: e.FOTA_LEASE_MS,
      evaluateEveryMs: e.FOTA_CAMPAIGN_EVALUATE_MS,
      retryBackoffMs: e.FOTA_RETRY_BACKOFF_SECONDS * 1000,
      notifyPerSecond: e.FOTA_NOTIFY_PER_SECOND,
      defaultTimeoutMs: e.FOTA_DEPLOYMENT_TIMEOUT_MINUTES * 60_000,
      fourEyes: e.FOTA_FOUR_EYES === 'true' || e.FOTA_FOUR_EYES === '1',
    },
    ...overrides,
  };
}

/** Also said at start when a caller's configuration (not the environment) asks for it with a local store. */
export const DOWNLOAD_REDIRECT_NEEDS_S3 =
  'configuration: FOTA_DOWNLOAD_REDIRECT=s3 needs the S3 artifact store (FOTA_S3_ENDPOINT and the other FOTA_S3_* settings): the local artifact directory has no URLs of its own to redirect devices to';

function isOn(value: z.infer<typeof onOff>): boolean {
  return value === 'on' || value === 'true' || value === '1';
}

function parseMasterKey(text: string): Uint8Array {
  const bytes = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (bytes.length !== 32) {
    throw new AppError('VALIDATION', 'configuration: FOTA_MASTER_KEY must be 32 bytes, as 64 hex digits or base64 (e.g. openssl rand -hex 32)');
  }
  return new Uint8Array(bytes);
}

// The `fota` commands that talk to a server read only these two variables; they are
// apart from the server's schema so a client never needs the server's settings.
// An empty value counts as unset, as `FOTA_TOKEN= fota ...` in a shell means.
const unsetIfEmpty = (value: unknown) => (value === '' ? undefined : value);
const clientEnvSchema = z.object({
  FOTA_SERVER: z.preprocess(unsetIfEmpty, z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).default('http://localhost:8080')),
  FOTA_TOKEN: z.preprocess(unsetIfEmpty, z.string().optional()),
});

export interface ClientConfig {
  server: string;
  token?: string;
}

export function loadClientConfig(env: NodeJS.ProcessEnv = process.env): ClientConfig {
  const parsed = clientEnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('VALIDATION', `configuration: ${issue ? `${issue.path.join('.')} ${issue.message}` : 'invalid'}`);
  }
  const { FOTA_SERVER: server, FOTA_TOKEN: token } = parsed.data;
  return { server, ...(token ? { token } : {}) };
}
