// POST /dm: the OMA DM endpoint. Reads the body within the size limit, hands it to the
// session handler, and answers in the request's encoding. Devices authenticate inside
// SyncML (digest, basic or HMAC), not with API tokens. Under the Node server the headers
// and the body are read from Node's request itself: a web Request (its Headers, body
// stream and AbortSignal) for every DM message cost more than decoding the message.
import { IncomingMessage } from 'node:http';
import type { Hono } from 'hono';
import type { AppEnv } from '../http/app-env.ts';
import type { Context } from '../context.ts';
import { encodingOf } from '../omadm/codec/syncml.ts';
import type { DmGuard } from './session/guard.ts';
import { handleDmMessage } from './session/handle.ts';

export function mountDm(app: Hono<AppEnv>, ctx: Context, guard: DmGuard): void {
  app.post('/dm', async (c) => {
    const incoming = incomingOf(c.env);
    const header = (name: string): string | undefined => (incoming ? headerOf(incoming, name) : c.req.header(name));
    const contentType = header('content-type') ?? '';
    try {
      encodingOf(contentType);
    } catch {
      return c.text(`unsupported content type ${JSON.stringify(contentType.slice(0, 100))}; send application/vnd.syncml.dm+xml or +wbxml\n`, 415);
    }
    const limit = ctx.config.dm.maxMessageBytes;
    if (Number(header('content-length') ?? 0) > limit) return c.text(`a DM message is limited to ${limit} bytes\n`, 413, { connection: 'close' });
    const body = incoming ? await readIncoming(incoming, limit) : await readLimited(c.req.raw, limit);
    if (!body) return c.text(`a DM message is limited to ${limit} bytes\n`, 413, { connection: 'close' });
    const url = new URL(c.req.url);
    const token = url.searchParams.get('s');
    const hmacHeader = header('x-syncml-hmac');
    const response = await handleDmMessage(ctx, guard, {
      body,
      contentType,
      ...(token ? { token } : {}),
      ...(hmacHeader ? { hmacHeader } : {}),
      serverUrl: ctx.config.dm.publicUrl ? `${ctx.config.dm.publicUrl}/dm` : `${url.origin}/dm`,
      address: incoming?.socket.remoteAddress ?? 'unknown',
    });
    return c.body(response.body as Uint8Array<ArrayBuffer>, response.status as 200, { ...response.headers, 'content-type': response.contentType });
  });
}

/**
 * Node's request, as @hono/node-server exposes it (`env.incoming`): its socket's peer is
 * the client's address (behind a proxy, the proxy's: README, FOTA_DM_ADDRESS_MAX_FAILURES=0
 * there). Without a Node server (app.request in tests) there is none.
 */
function incomingOf(env: unknown): IncomingMessage | undefined {
  if (typeof env !== 'object' || env === null || !('incoming' in env) || !(env.incoming instanceof IncomingMessage)) return undefined;
  return env.incoming;
}

/** A header as the web Headers would give it: repeated ones joined by ", ". */
function headerOf(incoming: IncomingMessage, name: string): string | undefined {
  const value = incoming.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * The whole body of Node's request, or undefined once it passes `limit` bytes (reading
 * stops there; the 413 closes the connection). A client that hangs up makes it fail, as
 * the web stream does (the error handler sees the request aborted: 499).
 */
function readIncoming(incoming: IncomingMessage, limit: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const done = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
    };
    const onData = (part: Buffer) => {
      size += part.length;
      if (size > limit) {
        done();
        incoming.pause();
        resolve(undefined);
      } else parts.push(part);
    };
    const onEnd = () => {
      done();
      resolve(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts));
    };
    const onError = (err: Error) => {
      done();
      reject(err);
    };
    // 'close' before 'end': the client went away mid-body.
    const onClose = () => onError(new Error('aborted'));
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('close', onClose);
  });
}

/** The same from a web Request (app.request in tests). */
async function readLimited(request: Request, limit: number): Promise<Uint8Array | undefined> {
  if (!request.body) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const part of request.body as unknown as AsyncIterable<Uint8Array>) {
    size += part.length;
    if (size > limit) return undefined;
    parts.push(part);
  }
  return Buffer.concat(parts);
}
