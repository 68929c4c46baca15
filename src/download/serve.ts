// Serving one package download: checks the token, finds the package, picks the byte
// range, opens the .fota object, and records the bytes that actually went out against
// the deployment once the response is over (in a batch: served-ledger.ts). HTTP framing
// is left to routes.ts and node.ts.
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import type { ByteRange } from '../store/artifacts/artifact-store.ts';
import { chooseRange, type RangeRequest } from './range.ts';
import type { Downloads } from './downloads.ts';
import { presignedLocation } from './redirect.ts';
import { type ByteSource, cachedFileSource, streamSource } from './source.ts';
import { isTokenError } from '../deployments/download-grant.ts';
import { isBeforeDownload } from '../store/queries/deployments.ts';

export interface DownloadRequest extends RangeRequest {
  token: string;
}

export type DownloadAnswer =
  /** Refusals, 416, and 503 for a download too many of one deployment: a short text body, nothing served, nothing recorded. */
  | { kind: 'text'; status: 403 | 404 | 416 | 503; headers: Record<string, string>; text: string }
  /** `body` is null for HEAD; otherwise it must be read to its end or closed. */
  | { kind: 'bytes'; status: 200 | 206; headers: Record<string, string>; body: MeteredBody | null }
  /** FOTA_DOWNLOAD_REDIRECT=s3: checked and counted here, the bytes come from `location`. */
  | { kind: 'redirect'; status: 307; headers: Record<string, string>; location: string };

/** The package bytes, and a report of how many of them the response really sent. */
export interface MeteredBody {
  source: ByteSource;
  /**
   * Call exactly once, when the response is over (finished, cut or failed); `bySendfile`
   * when the kernel sent the bytes from the file (sendfile.ts).
   */
  done(bytesSent: number, bySendfile?: boolean): void;
}

/** When a download refused for one too many under way (503) may come back: a place frees whenever one ends. */
const BUSY_RETRY_SECONDS = 5;

const REFUSED_HEADERS = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' };

export async function answerDownload(ctx: Context, downloads: Downloads, request: DownloadRequest): Promise<DownloadAnswer> {
  const grant = downloads.grants.check(request.token, ctx.clock.now());
  if (isTokenError(grant)) {
    // Expired says what to do (ask the server for a new link); the other refusals say
    // nothing that would help anyone forge a token.
    const text = grant.error === 'expired' ? 'this download link has expired; start a new session for a fresh one\n' : 'this download link is not valid\n';
    return { kind: 'text', status: 403, headers: REFUSED_HEADERS, text };
  }
  // A firmware package, or an application package (SCOMO): the same .fota bytes.
  const pkg = await downloads.packages.find(grant.packageId);
  if (!pkg) return { kind: 'text', status: 404, headers: REFUSED_HEADERS, text: 'this package no longer exists\n' };

  const size = pkg.fileSize;
  const etag = `"${pkg.fileSha256}"`;
  const common = {
    'accept-ranges': 'bytes',
    etag,
    // no-transform: a proxy that compressed or re-encoded the body would shift every
    // byte offset a device resumes from.
    'cache-control': 'private, no-transform',
  };
  const redirecting = ctx.config.download.redirect === 's3';
  // Redirected, the device resumes with the object store's own ETag in If-Range, which
  // the store judges; here only the range decides what is counted.
  const choice = chooseRange(redirecting ? { method: request.method, range: request.range } : request, size, etag);
  if (choice.kind === 'unsatisfiable') {
    return {
      kind: 'text',
      status: 416,
      headers: { ...common, ...REFUSED_HEADERS, 'content-range': `bytes */${size}` },
      text: `the requested range starts past the end of the ${size}-byte package\n`,
    };
  }
  const range = choice.kind === 'partial' ? choice.range : undefined;
  const length = range ? range.end - range.start + 1 : size;
  const headers: Record<string, string> = {
    ...common,
    'content-type': 'application/octet-stream',
    'content-length': String(length),
    ...(range ? { 'content-range': `bytes ${range.start}-${range.end}/${size}` } : {}),
  };
  const status = range ? 206 : 200;
  if (request.method !== 'GET') return { kind: 'bytes', status, headers, body: null };
  if (redirecting) {
    // One HEAD to the store: a vanished object is a clean 404 here, counted as nothing.
    if ((await ctx.artifacts.stat(pkg.fileSha256)) === null) {
      ctx.log.error({ packageId: pkg.id, sha256: pkg.fileSha256 }, 'package file missing from the artifact store');
      return { kind: 'text', status: 404, headers: REFUSED_HEADERS, text: 'this package no longer exists\n' };
    }
    const location = await presignedLocation(ctx, pkg.fileSha256);
    // The server never sees these bytes go out: what it counts is what it handed over.
    if (pkg.firmware) downloads.ledger.add(grant.deploymentId, length, 'moves');
    return { kind: 'redirect', status: 307, headers: { location, 'cache-control': 'no-store' }, location };
  }

  // A place among the deployment's downloads under way (under-way.ts): given back once the
  // response is over (done, below), or at once when no bytes are handed out.
  const limit = ctx.config.download.maxPerDeployment;
  const release = downloads.underWay.take(grant.deploymentId, limit);
  if (release === undefined) {
    // A place frees as soon as one of those downloads ends (a stalled one within the stall
    // limit), so this is worth retrying, as devices retry a 503.
    const text = `this deployment already has ${limit} downloads under way, the most it may have at once; try again once one has ended\n`;
    return { kind: 'text', status: 503, headers: { ...REFUSED_HEADERS, 'retry-after': String(BUSY_RETRY_SECONDS) }, text };
  }
  let handedOut = false;
  try {
    let source: ByteSource;
    try {
      // Opened before any header is sent, so a vanished object is still a clean 404.
      source = await openObject(ctx, downloads, pkg.fileSha256, range, size);
    } catch (err) {
      if (err instanceof AppError && err.code === 'NOT_FOUND') {
        ctx.log.error({ packageId: pkg.id, sha256: pkg.fileSha256 }, 'package file missing from the artifact store');
        return { kind: 'text', status: 404, headers: REFUSED_HEADERS, text: 'this package no longer exists\n' };
      }
      throw err;
    }
    const deployment = await downloads.deployment(grant.deploymentId);
    // The campaign's bandwidth budget, if it has one, paces this download with its others.
    source = downloads.budgets.meter(deployment?.budget, source);
    // Bytes that may move the deployment to 'downloading' are written at once; those of a
    // deployment already past that may wait a moment for others' (served-ledger.ts).
    const urgency = deployment === undefined || isBeforeDownload(deployment.state) ? 'moves' : 'counts';
    let recorded = false;
    const done = (bytesSent: number, bySendfile = false) => {
      if (recorded) return;
      recorded = true;
      release();
      ctx.tally.downloadBytes += bytesSent; // for /metrics
      if (bySendfile) ctx.tally.sendfileBytes += bytesSent;
      // The response is over and nobody waits for it: the ledger logs its own failure.
      // Application packages (no build) count no bytes on a FUMO deployment.
      if (pkg.firmware) downloads.ledger.add(grant.deploymentId, bytesSent, urgency);
    };
    handedOut = true;
    return { kind: 'bytes', status, headers, body: { source, done } };
  } finally {
    if (!handedOut) release();
  }
}

/**
 * The local store hands out its object's own path (localCopy makes no copy there, and
 * says NOT_FOUND when it is gone), read through the shared block cache; other stores
 * stream through get().
 */
async function openObject(ctx: Context, downloads: Downloads, sha256: string, range: ByteRange | undefined, size: number): Promise<ByteSource> {
  if (ctx.artifacts.kind !== 'local') return streamSource(await ctx.artifacts.get(sha256, range));
  // One stat of the file per request (local-objects.ts); the local store makes no copy,
  // so there is nothing to release.
  const copy = await downloads.objects.find(sha256);
  const key = { path: copy.path, sha256, size, ...(copy.modifiedAt === undefined ? {} : { modifiedAt: copy.modifiedAt }) };
  return cachedFileSource(downloads.cache, key, range ?? { start: 0, end: size - 1 }, noRelease, downloads.sendfile);
}

const noRelease = async (): Promise<void> => {};
