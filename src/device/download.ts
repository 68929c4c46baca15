// Downloads a `.fota` package the way a device on a bad network must:
//   1. the header and signed envelope first (Range: bytes=0-4095, more if the envelope is
//      longer), checked before any payload is asked for: signature with the pinned keys
//      (404), model and source image (403), security version (405), sizes (402);
//   2. the payload with `Range` + `If-Range: <ETag>` from the bytes already on disk, after a
//      cut connection and across restarts (the partial file and its ETag stay on disk);
//   3. every payload chunk checked against `manifest.payload.chunks` as it completes, and a
//      bad one fetched again alone, by its own Range, a bounded number of times (then 402);
//   4. the whole payload hash at the end (402).
// A server that answers If-Range with the whole file has a different package now: the
// partial is dropped and the download starts over. Failures are FUMO result codes:
// 411 bad URL, 412 server refusal or unavailable, 500 server error, 503 network failure.
import { createHash, type Hash } from 'node:crypto';
import { type FileHandle, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { writeFileAtomic } from '../files.ts';
import { hashFile } from '../hashing.ts';
import { FOTA_MAGIC, HEADER_SIZE, MAX_ENVELOPE_SIZE, PackageFormatError, parseEnvelope, readFotaFile } from '../packages/fota-file.ts';
import type { Manifest } from '../packages/manifest.ts';
import { checkApplicability, checkEnvelope, checkPayloadDigest, type DeviceFacts } from '../packages/verify.ts';
import type { TrustPolicy } from '../signing/envelope.ts';
import { type DownloadFaults, FaultInjector } from './faults.ts';
import { type HttpResponse, NetworkError, redact, send } from './http.ts';
import { DeviceResult, fail, type Failure, type Outcome } from './results.ts';
import { Throttle } from './throttle.ts';

/** The first request: enough for the header and a typical envelope (about 1 KiB per 10 MiB of payload). */
export const HEADER_PROBE_BYTES = 4096;
/** Redirects followed for one request (a server to its object store takes one). */
const MAX_REDIRECTS = 3;
/** Times the package may change under us (If-Range mismatch) before the download gives up. */
const MAX_RESTARTS = 2;

export interface DownloaderOptions {
  /** Where the partial package and its record live (e.g. `<data>/download`). */
  dir: string;
  trust: TrustPolicy;
  /** The device's model, current image hash and security version, asked before each check. */
  device: () => Promise<DeviceFacts>;
  /** Connection failures in a row (no new bytes between them) before the download fails with 503. */
  retries?: number;
  /** Extra fetches of one chunk that fails its hash before the package is called corrupted (402). */
  chunkRetries?: number;
  /** First pause after a failure; it doubles each time (at most 30 s). */
  retryDelayMs?: number;
  /**
   * How long in all a download waits on a server that answers 503 with Retry-After (busy:
   * one more download than its deployment may have under way) before such answers count
   * as failures. Default 5 minutes: the server frees the places of lost connections within
   * its stall limit (60 s by default).
   */
  busyWaitMs?: number;
  idleTimeoutMs?: number;
  /**
   * Largest byte range one payload request asks for; default: the rest of the file in one
   * request. A cut connection costs the server what was in flight (kernel buffers, which
   * on a fast link can hold hundreds of KiB), so a device on a flaky link may ask in
   * smaller pieces to waste less.
   */
  requestBytes?: number;
  /** Test faults; pass one FaultInjector to several downloaders so each fault fires once in all. */
  faults?: DownloadFaults | FaultInjector;
  /**
   * A slow link: bytes are read no faster than this (all requests together). Keep it
   * high enough that one socket read (up to 64 KiB) arrives within the idle timeout.
   */
  bytesPerSecond?: number;
  signal?: AbortSignal;
  /** Bytes received so far by this downloader (all requests). */
  onProgress?: (progress: { received: number }) => void;
  log?: (line: string) => void;
}

export interface DownloadedPackage {
  /** The whole `.fota` file, every byte checked. */
  path: string;
  manifest: Manifest;
  payloadOffset: number;
}

export interface RequestRecord {
  range?: string;
  ifRange?: string;
  status: number;
  /** Bytes of body received (after any injected fault). */
  bytes: number;
  /** Answered by the URL a redirect named (the object store), not by the server itself. */
  redirected?: boolean;
}

interface Header {
  manifest: Manifest;
  payloadOffset: number;
  total: number;
  etag: string | null;
}

const recordSchema = z.object({ etag: z.string().nullable(), fileSize: z.number().int().nonnegative(), complete: z.boolean() });
type DownloadRecord = z.infer<typeof recordSchema>;

/** Failures in a row, the bytes received when the last one happened, and the time waited on a busy server. */
interface RetryBudget {
  failures: number;
  mark: number;
  busyMs: number;
}

const DEFAULT_BUSY_WAIT_MS = 5 * 60_000;

const RESTART = Symbol('restart');
type Restart = typeof RESTART;

/** A 5xx: worth retrying; if it persists, the download fails with `resultCode`. */
class ServerTrouble extends Error {
  constructor(
    readonly resultCode: 412 | 500,
    message: string,
    /** How long the server asked us to wait (Retry-After), if it said. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** The longest pause between two attempts, whatever the backoff or the server's Retry-After say. */
const MAX_PAUSE_MS = 30_000;

/** Retry-After as delta-seconds, in ms; undefined when absent or not a plain number (an HTTP date is not worth a clock). */
function retryAfterMsOf(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value.trim())) return undefined;
  return Number(value.trim()) * 1000;
}

export class PackageDownloader {
  readonly partPath: string;
  readonly recordPath: string;
  /** Every request made, in order (tests count the ranges). */
  readonly requests: RequestRecord[] = [];
  private received = 0;
  private readonly faults: FaultInjector;
  private readonly throttle: Throttle | undefined;

  constructor(readonly options: DownloaderOptions) {
    this.partPath = join(options.dir, 'package.fota');
    this.recordPath = join(options.dir, 'package.json');
    this.faults = options.faults instanceof FaultInjector ? options.faults : new FaultInjector(options.faults);
    this.throttle = options.bytesPerSecond === undefined ? undefined : new Throttle(options.bytesPerSecond);
  }

  /** Bytes received over the network by this downloader (all requests). */
  get bytesReceived(): number {
    return this.received;
  }

  async download(url: string): Promise<Outcome<DownloadedPackage>> {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return fail(DeviceResult.BadUrl, `package URL ${JSON.stringify(url.slice(0, 200))} is not a URL`);
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') return fail(DeviceResult.BadUrl, `package URL must be http or https, not ${target.protocol}`);
    await mkdir(this.options.dir, { recursive: true });
    const budget: RetryBudget = { failures: 0, mark: 0, busyMs: 0 };
    for (let restart = 0; ; restart++) {
      if (restart > MAX_RESTARTS) {
        await this.discard();
        return fail(DeviceResult.ServerUnavailable, `the package at ${redact(target)} changed ${restart} times during the download`);
      }
      const result = await this.attempt(target, budget);
      if (result !== RESTART) return result;
      this.log('the package on the server changed (ETag); starting the download over');
      await this.discard();
    }
  }

  /** A complete, checked package left by an earlier Download, if there is one. */
  async completed(): Promise<DownloadedPackage | undefined> {
    const record = await this.loadRecord();
    if (!record?.complete) return undefined;
    try {
      const file = await readFotaFile(this.partPath);
      const manifest = checkEnvelope(file.envelope, this.options.trust);
      return manifest.ok ? { path: this.partPath, manifest: manifest.manifest, payloadOffset: file.payloadOffset } : undefined;
    } catch (err) {
      if (err instanceof PackageFormatError || (err as { code?: string }).code === 'IO') return undefined;
      throw err;
    }
  }

  async discard(): Promise<void> {
    await rm(this.partPath, { force: true });
    await rm(this.recordPath, { force: true });
  }

  private async attempt(target: URL, budget: RetryBudget): Promise<Outcome<DownloadedPackage> | Restart> {
    const record = await this.loadRecord();
    let header: Header | undefined;
    let extra: Buffer = Buffer.alloc(0);
    let resuming = false;
    if (record) {
      const resumed = await this.headerOnDisk(record);
      if (resumed && 'ok' in resumed) {
        await this.discard();
        return resumed;
      }
      header = resumed;
      resuming = header !== undefined;
      if (header) this.log(`resuming the download at byte ${(await this.partSize()).toLocaleString('en-US')} of ${header.total.toLocaleString('en-US')}`);
    }
    if (!header) {
      await this.discard();
      const probed = await this.withRetries(budget, () => this.probe(target));
      if (probed === RESTART || 'ok' in probed) return probed;
      ({ header, extra } = probed);
    }

    const sink = await PayloadSink.open(this.partPath, header);
    try {
      if (sink.bad.size > 0) this.log(`chunk(s) ${[...sink.bad].map((i) => i + 1).join(', ')} on disk failed the hash check; they will be fetched again`);
      if (extra.length > 0) await sink.write(extra);
      this.faults.place(sink.pos, header.total);
      if (resuming && sink.pos >= header.total) {
        // Everything is already here: one byte with If-Range tells whether the URL still serves this file.
        const same = await this.withRetries(budget, () => this.sameFile(target, header));
        if (same !== undefined) return same;
      }
      while (sink.pos < header.total) {
        const got = await this.withRetries(budget, () => this.fetchRest(target, header, sink));
        if (got === RESTART || (got !== undefined && 'ok' in got)) return got;
      }
      for (const index of [...sink.bad].sort((a, b) => a - b)) {
        const fixed = await this.refetchChunk(target, header, sink, index, budget);
        if (fixed !== undefined) {
          if (fixed !== RESTART && fixed.resultCode === DeviceResult.CorruptedPackage) await this.discard();
          return fixed;
        }
      }
    } finally {
      await sink.close();
    }

    const { manifest } = header;
    const digest = await hashFile(this.partPath, { start: header.payloadOffset, chunkSize: manifest.payload.chunkSize });
    const payload = checkPayloadDigest(manifest, digest);
    if (!payload.ok) {
      await this.discard();
      return payload;
    }
    await this.saveRecord({ etag: header.etag, fileSize: header.total, complete: true });
    return { ok: true, path: this.partPath, manifest, payloadOffset: header.payloadOffset };
  }

  /** Header and envelope of the partial file on disk, checked again; undefined if unusable. */
  private async headerOnDisk(record: DownloadRecord): Promise<Header | Failure | undefined> {
    let file;
    try {
      file = await readFotaFile(this.partPath);
    } catch (err) {
      if (err instanceof PackageFormatError || (err as { code?: string }).code === 'IO') return undefined;
      throw err;
    }
    const checked = await this.checkEnvelope(file.envelope);
    if (!checked.ok) return checked;
    if (record.fileSize !== file.payloadOffset + checked.manifest.payload.size) return undefined;
    return { manifest: checked.manifest, payloadOffset: file.payloadOffset, total: record.fileSize, etag: record.etag };
  }

  private async checkEnvelope(envelope: ReturnType<typeof parseEnvelope>): Promise<Outcome<{ manifest: Manifest }>> {
    const signed = checkEnvelope(envelope, this.options.trust);
    if (!signed.ok) return signed;
    const applicable = checkApplicability(signed.manifest, await this.options.device());
    if (!applicable.ok) return applicable;
    return { ok: true, manifest: signed.manifest };
  }

  /** Step 1: header and envelope, checked; nothing of the payload is asked for before. */
  private async probe(target: URL): Promise<{ header: Header; extra: Buffer } | Failure | Restart> {
    const res = await this.get(target, `bytes=0-${HEADER_PROBE_BYTES - 1}`);
    if (res.status !== 206 && res.status !== 200) return this.refusal(res);
    const etag = strongEtag(res.headers.etag);
    const total = res.status === 206 ? parseContentRange(res.headers['content-range'])?.total : Number(res.headers['content-length']);
    if (total === undefined || !Number.isSafeInteger(total)) {
      res.cut();
      return fail(DeviceResult.ServerUnavailable, 'the download server did not say how large the package is');
    }
    // A server that ignores Range sends everything: fine for a file that fits the probe,
    // but nothing larger could ever be resumed or checked chunk by chunk.
    let got = await this.collect(res, 0, res.status === 200 ? HEADER_PROBE_BYTES : Infinity);
    if (res.status === 200 && got.length < total) {
      return fail(DeviceResult.ServerUnavailable, 'the download server ignores byte ranges (HTTP 200 to a Range request); the package cannot be fetched resumably');
    }
    if (got.length < HEADER_SIZE || !got.subarray(0, FOTA_MAGIC.length).equals(FOTA_MAGIC)) {
      return fail(DeviceResult.CorruptedPackage, `the file at ${redact(target)} is not a .fota package`);
    }
    const length = got.readUInt32BE(FOTA_MAGIC.length);
    const need = HEADER_SIZE + length;
    if (length > MAX_ENVELOPE_SIZE || need > total) return fail(DeviceResult.CorruptedPackage, `the package's envelope length ${length} does not fit the ${total}-byte file`);
    if (got.length < need) {
      const more = await this.get(target, `bytes=${got.length}-${need - 1}`, etag);
      if (more.status === 200 || more.status === 416) return this.restart(more);
      if (more.status !== 206) return this.refusal(more);
      if (parseContentRange(more.headers['content-range'])?.start !== got.length) return this.restart(more);
      got = Buffer.concat([got, await this.collect(more, got.length, need - got.length)]);
      if (got.length < need) throw new NetworkError('the envelope arrived incomplete');
    }
    let envelope;
    try {
      envelope = parseEnvelope(got.subarray(HEADER_SIZE, need), 'package');
    } catch (err) {
      if (err instanceof PackageFormatError) return fail(DeviceResult.CorruptedPackage, err.message);
      throw err;
    }
    const checked = await this.checkEnvelope(envelope);
    if (!checked.ok) return checked;
    if (total !== need + checked.manifest.payload.size) {
      return fail(DeviceResult.CorruptedPackage, `the package file is ${total} bytes; its manifest says ${need + checked.manifest.payload.size}`);
    }
    await writeFileAtomic(this.partPath, got.subarray(0, need));
    await this.saveRecord({ etag, fileSize: total, complete: false });
    this.log(`package ${checked.manifest.model} ${checked.manifest.source ? `${checked.manifest.source.version} -> ` : ''}${checked.manifest.target.version} (${checked.manifest.payload.kind}, ${checked.manifest.payload.size.toLocaleString('en-US')} bytes): signature and applicability ok`);
    return { header: { manifest: checked.manifest, payloadOffset: need, total, etag }, extra: got.subarray(need, total) };
  }

  /** Step 2: the rest of the file (or the next piece of it) from what is on disk. */
  private async fetchRest(target: URL, header: Header, sink: PayloadSink): Promise<Failure | Restart | undefined> {
    const window = this.options.requestBytes;
    const last = window ? Math.min(header.total, sink.pos + window) - 1 : undefined;
    const res = await this.get(target, `bytes=${sink.pos}-${last ?? ''}`, header.etag);
    if (res.status === 200 || res.status === 416) return this.restart(res);
    if (res.status !== 206) return this.refusal(res);
    const range = parseContentRange(res.headers['content-range']);
    if (!range || range.start !== sink.pos || range.total !== header.total || range.end !== (last ?? header.total - 1)) return this.restart(res);
    const end = range.end + 1;
    const reached = await this.consume(res, sink.pos, (piece) => sink.write(piece));
    if (reached < end) throw new NetworkError(`the connection closed at byte ${reached} of ${end}`);
    return undefined;
  }

  /** The URL still serves the file on disk (undefined), or another one (restart). */
  private async sameFile(target: URL, header: Header): Promise<Failure | Restart | undefined> {
    const res = await this.get(target, `bytes=${header.total - 1}-${header.total - 1}`, header.etag);
    if (res.status === 200 || res.status === 416) return this.restart(res);
    if (res.status !== 206) return this.refusal(res);
    const range = parseContentRange(res.headers['content-range']);
    if (!header.etag || range?.total !== header.total) return this.restart(res);
    res.cut();
    return undefined;
  }

  /** Step 3: one bad chunk again, alone; undefined once it is good. */
  private async refetchChunk(target: URL, header: Header, sink: PayloadSink, index: number, budget: RetryBudget): Promise<Failure | Restart | undefined> {
    const { chunkSize, size, chunks } = header.manifest.payload;
    const start = header.payloadOffset + index * chunkSize;
    const end = header.payloadOffset + Math.min((index + 1) * chunkSize, size);
    const retries = this.options.chunkRetries ?? 3;
    for (let attempt = 1; attempt <= retries; attempt++) {
      const got = await this.withRetries(budget, async () => {
        const res = await this.get(target, `bytes=${start}-${end - 1}`, header.etag);
        if (res.status === 200 || res.status === 416) return this.restart(res);
        if (res.status !== 206) return this.refusal(res);
        const range = parseContentRange(res.headers['content-range']);
        if (!range || range.start !== start || range.end !== end - 1) return this.restart(res);
        const bytes = await this.collect(res, start, end - start);
        if (bytes.length < end - start) throw new NetworkError(`chunk ${index + 1} arrived incomplete`);
        return bytes;
      });
      if (got === RESTART || 'ok' in got) return got;
      if (createHash('sha256').update(got).digest('hex') === chunks[index]) {
        await sink.writeAt(start, got);
        sink.bad.delete(index);
        this.log(`chunk ${index + 1} of ${chunks.length} fetched again: good`);
        return undefined;
      }
      this.log(`chunk ${index + 1} of ${chunks.length} failed its hash again (fetch ${attempt} of ${retries})`);
    }
    return fail(DeviceResult.CorruptedPackage, `payload chunk ${index + 1} of ${chunks.length} failed its hash check ${retries + 1} times`);
  }

  /**
   * Runs one request, retrying connection failures and 5xx answers with growing pauses.
   * The count restarts whenever bytes came in since the last failure, so a slow but moving
   * download never fails; a busy server's answers are waited out without counting (busyPause).
   */
  private async withRetries<T>(budget: RetryBudget, run: () => Promise<T>): Promise<T | Failure> {
    for (;;) {
      try {
        return await run();
      } catch (err) {
        if (!(err instanceof NetworkError) && !(err instanceof ServerTrouble)) throw err;
        const busy = err instanceof ServerTrouble ? this.busyPause(err, budget) : undefined;
        const pause = busy ?? this.failurePause(err, budget);
        if (typeof pause !== 'number') return pause;
        this.log(`${err.message}; retrying in ${pause} ms${busy === undefined ? '' : `, as it asked (${budget.busyMs} ms of waiting on a busy server in all)`}`);
        await sleep(pause, undefined, this.options.signal ? { signal: this.options.signal } : {});
      }
    }
  }

  /** `err` counted as a failure: the pause before the next attempt, or the download's Failure once `retries` are spent. */
  private failurePause(err: NetworkError | ServerTrouble, budget: RetryBudget): number | Failure {
    // Bytes arrived since the last failure: the link works, only the count of failures in a row matters.
    if (this.received > budget.mark) budget.failures = 0;
    budget.mark = this.received;
    budget.failures += 1;
    if (budget.failures > (this.options.retries ?? 3)) {
      return err instanceof ServerTrouble ? fail(err.resultCode, err.message) : fail(DeviceResult.NetworkFailure, `download failed ${budget.failures} times in a row: ${err.message}`);
    }
    // The server's Retry-After when it asks for longer than the backoff (another 5xx, or a
    // busy 503 once busyWaitMs is spent).
    const backoff = (this.options.retryDelayMs ?? 1000) * 2 ** (budget.failures - 1);
    const asked = err instanceof ServerTrouble ? (err.retryAfterMs ?? 0) : 0;
    return Math.min(MAX_PAUSE_MS, Math.max(backoff, asked));
  }

  /**
   * The pause before asking a busy server again, or undefined when `err` is not a busy
   * answer or the download has waited on busy answers for busyWaitMs already. A 503 with
   * Retry-After comes from a server that is up and says when to come back: waiting for it
   * is not failing, where counting it would give up after `retries` answers (some 15 s
   * with fota's Retry-After of 5 s) on a place that frees within the server's stall limit.
   */
  private busyPause(err: ServerTrouble, budget: RetryBudget): number | undefined {
    if (err.resultCode !== DeviceResult.ServerUnavailable || err.retryAfterMs === undefined) return undefined;
    const left = (this.options.busyWaitMs ?? DEFAULT_BUSY_WAIT_MS) - budget.busyMs;
    if (left <= 0) return undefined;
    const pause = Math.min(MAX_PAUSE_MS, left, Math.max(err.retryAfterMs, this.options.retryDelayMs ?? 1000));
    budget.busyMs += pause;
    return pause;
  }

  private async get(target: URL, range: string, etag?: string | null): Promise<HttpResponse> {
    const headers: Record<string, string> = { range, 'accept-encoding': 'identity' };
    if (etag) headers['if-range'] = etag;
    let url = target;
    for (let hops = 0; ; hops += 1) {
      const res = await send(url, {
        headers,
        ...(this.options.idleTimeoutMs ? { idleTimeoutMs: this.options.idleTimeoutMs } : {}),
        ...(this.options.signal ? { signal: this.options.signal } : {}),
      });
      const next = redirectTarget(res, url);
      // A server that lets the object store send the bytes (FOTA_DOWNLOAD_REDIRECT) answers
      // each request with a fresh short-lived URL: followed with the same Range and
      // If-Range, so resuming works as against the server itself. Never remembered.
      if (next && hops < MAX_REDIRECTS) {
        res.cut();
        url = next;
        continue;
      }
      this.requests.push({ range, ...(etag ? { ifRange: etag } : {}), status: res.status, bytes: 0, ...(hops > 0 ? { redirected: true } : {}) });
      return res;
    }
  }

  /** Reads a response into `write`, through the fault injector; returns the offset reached. */
  private async consume(res: HttpResponse, at: number, write: (piece: Buffer) => Promise<void> | void, limit = Infinity): Promise<number> {
    const entry = this.requests.at(-1);
    let pos = at;
    try {
      for await (const raw of res.body as AsyncIterable<Buffer>) {
        const room = limit - (pos - at);
        const { piece, cut } = this.faults.deliver(pos, room < raw.length ? raw.subarray(0, room) : raw);
        await write(piece);
        pos += piece.length;
        this.received += piece.length;
        if (entry) entry.bytes += piece.length;
        this.options.onProgress?.({ received: this.received });
        await this.throttle?.take(piece.length, this.options.signal);
        if (cut) {
          res.cut();
          throw new NetworkError(`connection cut at byte ${pos} (injected fault)`);
        }
        if (pos - at >= limit) {
          res.cut();
          break;
        }
      }
    } catch (err) {
      if (err instanceof NetworkError || (err instanceof Error && err.name === 'AbortError')) throw err;
      if (this.options.signal?.aborted) throw this.options.signal.reason;
      throw new NetworkError(`the connection broke: ${(err as Error).message}`, { cause: err });
    }
    return pos;
  }

  private async collect(res: HttpResponse, at: number, limit: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    await this.consume(res, at, (piece) => void parts.push(piece), limit);
    return Buffer.concat(parts);
  }

  /** A status we did not ask for: 4xx is a refusal (412), 5xx may pass (retried). */
  private refusal(res: HttpResponse): Failure {
    res.cut();
    if (res.status >= 500) {
      throw new ServerTrouble(res.status === 503 ? DeviceResult.ServerUnavailable : DeviceResult.ServerError, `the download server answered HTTP ${res.status}`, retryAfterMsOf(res.headers['retry-after']));
    }
    return fail(DeviceResult.ServerUnavailable, `the download server refused the package (HTTP ${res.status})`);
  }

  private restart(res: HttpResponse): Restart {
    res.cut();
    return RESTART;
  }

  private async partSize(): Promise<number> {
    try {
      return (await stat(this.partPath)).size;
    } catch {
      return 0;
    }
  }

  private async loadRecord(): Promise<DownloadRecord | undefined> {
    try {
      const parsed = recordSchema.safeParse(JSON.parse(await readFile(this.recordPath, 'utf8')));
      return parsed.success ? parsed.data : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || err instanceof SyntaxError) return undefined;
      throw err;
    }
  }

  private async saveRecord(record: DownloadRecord): Promise<void> {
    await writeFileAtomic(this.recordPath, `${JSON.stringify(record)}\n`);
  }

  private log(line: string): void {
    this.options.log?.(line);
  }
}

/**
 * Writes the payload in order and checks each chunk as it completes. Opening it on a
 * partial file checks the complete chunks already there and picks up the partial one.
 */
class PayloadSink {
  readonly bad = new Set<number>();
  private hash: Hash = createHash('sha256');

  private constructor(
    private readonly handle: FileHandle,
    private readonly header: Header,
    public pos: number,
  ) {}

  static async open(path: string, header: Header): Promise<PayloadSink> {
    const handle = await open(path, 'r+');
    try {
      let size = (await handle.stat()).size;
      if (size > header.total) {
        await handle.truncate(header.total);
        size = header.total;
      }
      const sink = new PayloadSink(handle, header, header.payloadOffset);
      // Re-read what is on disk: complete chunks are checked, the last partial one is hashed so far.
      const buffer = Buffer.alloc(Math.min(1024 * 1024, header.manifest.payload.chunkSize));
      while (sink.pos < size) {
        const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, size - sink.pos), sink.pos);
        if (bytesRead === 0) break;
        sink.account(buffer.subarray(0, bytesRead));
      }
      return sink;
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async write(piece: Buffer): Promise<void> {
    const room = this.header.total - this.pos;
    const bytes = piece.length > room ? piece.subarray(0, room) : piece;
    if (bytes.length === 0) return;
    await this.handle.write(bytes, 0, bytes.length, this.pos);
    this.account(bytes);
  }

  async writeAt(offset: number, bytes: Buffer): Promise<void> {
    await this.handle.write(bytes, 0, bytes.length, offset);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  /** Hashes bytes that now sit at `pos`, closing chunks at their boundaries. */
  private account(bytes: Buffer): void {
    const { chunkSize, size, chunks } = this.header.manifest.payload;
    let offset = 0;
    while (offset < bytes.length) {
      const inPayload = this.pos - this.header.payloadOffset;
      const index = Math.floor(inPayload / chunkSize);
      const chunkEnd = Math.min((index + 1) * chunkSize, size);
      const take = Math.min(chunkEnd - inPayload, bytes.length - offset);
      this.hash.update(bytes.subarray(offset, offset + take));
      offset += take;
      this.pos += take;
      if (this.pos - this.header.payloadOffset === chunkEnd) {
        if (this.hash.digest('hex') !== chunks[index]) this.bad.add(index);
        this.hash = createHash('sha256');
      }
    }
  }
}

function strongEtag(value: string | string[] | undefined): string | null {
  const tag = Array.isArray(value) ? value[0] : value;
  if (!tag || tag.startsWith('W/')) return null;
  return tag;
}

export function parseContentRange(value: string | string[] | undefined): { start: number; end: number; total: number } | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(text?.trim() ?? '');
  if (!match) return undefined;
  const [start, end, total] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (end < start || end >= total) return undefined;
  return { start, end, total };
}

/** Where a 3xx with a Location sends the request next (http and https only), else undefined. */
function redirectTarget(res: HttpResponse, from: URL): URL | undefined {
  if (![301, 302, 303, 307, 308].includes(res.status)) return undefined;
  const location = res.headers.location;
  if (!location) return undefined;
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    return undefined;
  }
  return next.protocol === 'http:' || next.protocol === 'https:' ? next : undefined;
}
