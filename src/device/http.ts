// The agent's HTTP: one request function over node:http(s) that hands back the response
// as a stream (downloads are read piece by piece, and can be cut on purpose in tests), and
// turns every transport failure into a NetworkError the callers retry. No keep-alive: an
// agent makes a few requests per session, and a cut connection must never be reused.
import { type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AppError } from '../errors.ts';

/** The connection failed (refused, reset, timed out, cut): worth another try. */
export class NetworkError extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('IO', message, options);
    this.name = 'NetworkError';
  }
}

export interface HttpOptions {
  method?: 'GET' | 'POST' | 'HEAD';
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** No bytes in either direction for this long fails the request. */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  /** Drops the connection (a response that is not wanted, or a cut on purpose). */
  cut(): void;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

export function send(url: URL, options: HttpOptions = {}): Promise<HttpResponse> {
  const requester = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    let req: ClientRequest;
    try {
      req = requester(url, {
        method: options.method ?? 'GET',
        headers: { ...options.headers, ...(options.body ? { 'content-length': String(options.body.length) } : {}) },
        agent: false,
        timeout: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (err) {
      reject(new NetworkError(`cannot request ${redact(url)}: ${(err as Error).message}`, { cause: err }));
      return;
    }
    req.on('timeout', () => req.destroy(new NetworkError(`no answer from ${redact(url)} for ${options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS} ms`)));
    req.on('error', (err) => reject(asNetworkError(err, url)));
    req.on('response', (res) => {
      // Later failures surface on the body stream, as NetworkErrors too.
      res.on('error', () => undefined);
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, cut: () => req.destroy() });
    });
    req.end(options.body);
  });
}

/** Reads a whole (small) body, refusing more than `limit` bytes. */
export async function readBody(res: HttpResponse, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const part of res.body as AsyncIterable<Buffer>) {
      size += part.length;
      if (size > limit) {
        res.cut();
        throw new AppError('TOO_LARGE', `the server's answer is larger than ${limit} bytes`);
      }
      parts.push(part);
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new NetworkError(`the answer was cut off: ${(err as Error).message}`, { cause: err });
  }
  return Buffer.concat(parts);
}

export function asNetworkError(err: unknown, url: URL): Error {
  if (err instanceof NetworkError) return err;
  if (err instanceof Error && err.name === 'AbortError') return err;
  const code = (err as NodeJS.ErrnoException).code;
  const why = code ?? (err as Error).message;
  const unreachable = ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ETIMEDOUT'].includes(code ?? '');
  return new NetworkError(unreachable ? `cannot reach ${redact(url)} (${why})` : `connection to ${redact(url)} failed (${why})`, { cause: err });
}

/** A download URL carries its grant in the path: logs and messages show only where it goes. */
export function redact(url: URL): string {
  const segments = url.pathname.split('/').filter(Boolean);
  return `${url.origin}/${segments.length > 1 ? `${segments[0]}/…` : (segments[0] ?? '')}`;
}
