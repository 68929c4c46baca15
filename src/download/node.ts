// GET|HEAD /dl/<token> answered from Node's request and response, as POST /dm is
// (server.ts): no web Request, Headers or Response per download, no Hono routing, and
// no "already sent" marker to hand back. The Hono route (routes.ts) stays for app.request()
// and other runtimes; both answer through answerDownload and share one block cache.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from '../context.ts';
import { DOWNLOAD_SEGMENT } from '../deployments/download-grant.ts';
import type { Downloads } from './downloads.ts';
import { sendToNode } from './send.ts';
import { answerDownload } from './serve.ts';

/** The route as the request log and metrics name it (Hono's routePath for the same URL). */
export const DOWNLOAD_ROUTE = `/${DOWNLOAD_SEGMENT}/:token`;
const PREFIX = `/${DOWNLOAD_SEGMENT}/`;

/** The token of GET|HEAD /dl/<token>[?query], or undefined for any other request (Hono answers those). */
export function downloadTokenOf(incoming: IncomingMessage): string | undefined {
  if (incoming.method !== 'GET' && incoming.method !== 'HEAD') return undefined;
  const url = incoming.url ?? '';
  if (!url.startsWith(PREFIX)) return undefined;
  // The segment ends where a query or a fragment (sent raw by some clients) begins, as in URL parsing.
  const end = url.slice(PREFIX.length).search(/[?#]/);
  const segment = url.slice(PREFIX.length, end === -1 ? undefined : PREFIX.length + end);
  // What Hono's route would not match (an empty or nested segment) is left to it: its 404.
  if (segment === '' || segment.includes('/')) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * Answers the download and returns its status once the head is written (the body then
 * goes on by itself, counted by sendToNode). Throws, before any head, what answerDownload
 * throws (a database failure): the caller answers that.
 */
export async function answerDownloadFromNode(
  ctx: Context,
  downloads: Downloads,
  token: string,
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  requestId: string,
): Promise<number> {
  const header = (name: string) => {
    const value = incoming.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  };
  const answer = await answerDownload(ctx, downloads, { token, method: incoming.method ?? 'GET', range: header('range'), ifRange: header('if-range') });
  const head = { ...answer.headers, 'x-request-id': requestId };
  if (answer.kind === 'bytes' && answer.body) {
    // A client already gone gets nothing written; sendToNode still closes and counts (0).
    if (!outgoing.destroyed) outgoing.writeHead(answer.status, head);
    sendToNode(outgoing, answer.body, ctx.log, ctx.config.download.stallSeconds * 1000);
  } else if (!outgoing.destroyed) {
    // A refusal, HEAD, or the object store's presigned URL (its Location is in the headers).
    const text = answer.kind === 'text' ? Buffer.from(answer.text) : Buffer.alloc(0);
    outgoing.writeHead(answer.status, { ...head, ...(answer.kind === 'text' ? { 'content-length': String(text.length) } : {}) }).end(text);
  }
  return answer.status;
}
