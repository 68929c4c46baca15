// GET|HEAD /dl/<token>: package bytes for devices, with resume (Range, If-Range, ETag).
// The token in the path is the only credential: an HMAC-signed, expiring grant.
import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Hono } from 'hono';
import type { AppEnv } from '../http/app-env.ts';
import type { Context } from '../context.ts';
import { meteredWebStream, sendToNode } from './send.ts';
import { answerDownload } from './serve.ts';
import { answerDownloadFromNode } from './node.ts';
import { createDownloads } from './downloads.ts';
import { DOWNLOAD_SEGMENT } from '../deployments/download-grant.ts';

/**
 * What tells @hono/node-server that the handler has answered through Node's response
 * itself. Its RESPONSE_ALREADY_SENT only works when built by the platform's Response
 * class, i.e. when its module loaded before serve() put node-server's own Response class
 * in the global (the app's module graph loads first, so it does). Built by that class it
 * would carry a cached head, and the server would write a head a second time and throw.
 * If that ever happens, downloads take the web stream path instead of breaking. The
 * marker is rebuilt with the real status so the request log and metrics see 206 and 200.
 * Imported when first needed (a Node server has loaded it by then, before its adapter:
 * server.ts): loading it builds a Response, which costs a server that answers only
 * devices some 13 MiB (the platform's fetch classes).
 */
// Kept once loaded: an import() per download went through the module loader each time.
let responseModule: Promise<typeof import('@hono/node-server/utils/response')> | undefined;
async function sentMarker(status: number): Promise<Response | undefined> {
  const { RESPONSE_ALREADY_SENT } = await (responseModule ??= import('@hono/node-server/utils/response'));
  const Platform = RESPONSE_ALREADY_SENT.constructor as typeof Response;
  if (Platform === globalThis.Response) return undefined;
  return new Platform(null, { status, headers: RESPONSE_ALREADY_SENT.headers });
}

/** Answers a download on Node's request (node.ts), with the cache and budgets of the mounted route. */
export type NodeDownloads = ((token: string, incoming: IncomingMessage, outgoing: ServerResponse, requestId: string) => Promise<number>) & {
  /** Writes the bytes served still waiting for their batch (served-ledger.ts): for a graceful stop, once no response is left. */
  settle(): Promise<void>;
};

export function mountDownloads(app: Hono<AppEnv>, ctx: Context): NodeDownloads {
  const downloads = createDownloads(ctx);
  // Hono routes HEAD through the GET handler and drops the body; the handler still sees
  // the real method, so HEAD never opens the object.
  app.get(`/${DOWNLOAD_SEGMENT}/:token`, async (c) => {
    const answer = await answerDownload(ctx, downloads, {
      token: c.req.param('token'),
      method: c.req.method,
      range: c.req.header('range'),
      ifRange: c.req.header('if-range'),
    });
    if (answer.kind === 'text') return c.text(answer.text, answer.status, answer.headers);
    if (answer.kind === 'redirect') return c.body(null, answer.status, answer.headers);
    if (!answer.body) return c.body(null, answer.status, answer.headers);
    const outgoing = nodeResponse(c.env);
    const marker = outgoing && (await sentMarker(answer.status));
    if (!outgoing || !marker) return c.body(meteredWebStream(answer.body, ctx.log), answer.status, answer.headers);
    // Straight to Node's response: a web stream in between costs a promise or two per
    // chunk, and gives no write callback to count a chunk by.
    const requestId = c.get('requestId');
    outgoing.writeHead(answer.status, { ...answer.headers, ...(requestId ? { 'x-request-id': requestId } : {}) });
    sendToNode(outgoing, answer.body, ctx.log, ctx.config.download.stallSeconds * 1000);
    return marker;
  });
  const fromNode = (token: string, incoming: IncomingMessage, outgoing: ServerResponse, requestId: string) => answerDownloadFromNode(ctx, downloads, token, incoming, outgoing, requestId);
  return Object.assign(fromNode, { settle: () => downloads.ledger.settle() });
}

/** Node's ServerResponse, when @hono/node-server serves the app (its `env.outgoing`). */
function nodeResponse(env: unknown): ServerResponse | undefined {
  if (typeof env !== 'object' || env === null || !('outgoing' in env)) return undefined;
  return env.outgoing instanceof ServerResponse ? env.outgoing : undefined;
}
