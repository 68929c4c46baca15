// What the `fota` commands that talk to a server share: which server and token (the
// options, else FOTA_SERVER and FOTA_TOKEN), one request function over node:http(s) that
// can stream a file as the body, and failures a user can act on: a refusal carries the
// server's own message (exit 1), an unreachable server says so in one line (exit 2).
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { z } from 'zod';
import { loadClientConfig } from '../config.ts';
import { AppError } from '../errors.ts';
import { writeAtomically } from '../files.ts';
import { UsageError } from './io.ts';

/** The options every server command takes, for parseOptions. */
export const serverOptions = { server: { type: 'string' }, token: { type: 'string' } } as const;

export const serverHelp = `Server and token come from --server URL (else FOTA_SERVER, default
http://localhost:8080) and --token T (else FOTA_TOKEN).`;

export interface Client {
  /** Base URL without a trailing slash, so a server mounted under a path keeps it. */
  server: string;
  token: string;
}

/** The server answered, and said no: its status and its `{"error": {code, message}}`. */
export class ServerRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ServerRefusal';
  }
}

/** An upload body: a stream of known length, sent as it is read (never held whole). */
export interface StreamBody {
  stream: Readable;
  size: number;
  contentType: string;
  /** Extra request headers (an upload's target statement). */
  headers?: Record<string, string>;
}

// Long enough for a server busy storing a large upload, short enough that a hung
// server does not hang a CI job forever.
const IDLE_TIMEOUT_MS = 120_000;

export function clientFrom(values: { server?: string; token?: string }, env: NodeJS.ProcessEnv = process.env): Client {
  const config = loadClientConfig(env);
  const server = values.server ?? config.server;
  if (values.server !== undefined && !isHttpUrl(values.server)) throw new UsageError(`--server must be an http:// or https:// URL, got ${values.server}`);
  const token = values.token || config.token;
  if (!token) throw new UsageError('missing API token: pass --token T or set FOTA_TOKEN');
  return { server: server.replace(/\/+$/, ''), token };
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * Sends one request and returns the answer's JSON checked against `schema`. A 2xx with
 * a body that does not fit, any other status, and a failed connection all throw.
 */
export async function callServer<T extends z.ZodType>(
  client: Client,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  schema: T,
  body?: { json: unknown } | StreamBody,
): Promise<z.infer<T>> {
  const answer = await send(client, method, path, body);
  const what = `${method} ${path.replace(/\?.*$/, '')}`;
  let parsed: unknown;
  try {
    parsed = answer.text ? JSON.parse(answer.text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (answer.status < 200 || answer.status >= 300) throw refusal(answer.status, answer.statusText, parsed);
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    // Most likely not a fota server (or a much older one) at that URL.
    throw new AppError('VALIDATION', `unexpected answer from ${client.server} to ${what}${issue ? `: ${issue.path.join('.') || 'body'} ${issue.message}` : ''}`);
  }
  return result.data;
}

function refusal(status: number, statusText: string, body: unknown): ServerRefusal {
  const error = typeof body === 'object' && body !== null && 'error' in body ? body.error : undefined;
  if (typeof error === 'object' && error !== null && 'message' in error && typeof error.message === 'string') {
    const code = 'code' in error && typeof error.code === 'string' ? error.code : 'ERROR';
    return new ServerRefusal(status, code, `server refused (${status} ${code}): ${oneLine(error.message)}`);
  }
  // Something between us and the server (a proxy, a load balancer) answered instead.
  return new ServerRefusal(status, 'HTTP', `server answered ${status} ${statusText || 'error'} without a fota error body (a proxy in between?)`);
}

interface Answer {
  status: number;
  statusText: string;
  text: string;
}

function send(client: Client, method: string, path: string, body: { json: unknown } | StreamBody | undefined): Promise<Answer> {
  const url = new URL(`${client.server}${path}`);
  const headers: Record<string, string> = { authorization: `Bearer ${client.token}`, accept: 'application/json' };
  let payload: string | undefined;
  if (body && 'json' in body) {
    payload = JSON.stringify(body.json);
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(payload));
  } else if (body) {
    Object.assign(headers, body.headers);
    headers['content-type'] = body.contentType;
    headers['content-length'] = String(body.size);
  }
  const stream = body && 'stream' in body ? body.stream : undefined;
  return new Promise<Answer>((resolve, reject) => {
    let answered = false;
    let connected = false;
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method, headers });
    req.on('socket', (socket) => {
      if (socket.connecting) socket.once('connect', () => (connected = true));
      else connected = true; // a kept-alive socket
    });
    req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('response', (res: IncomingMessage) => {
      answered = true;
      // The server may refuse an upload before reading it all (a duplicate version, a
      // wrong role): stop reading the file, the answer is what counts.
      const cut = stream !== undefined && !stream.readableEnded;
      if (cut) {
        stream.unpipe(req);
        stream.destroy();
      }
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        // A half-sent body leaves the connection unusable; do not keep it alive.
        if (cut) req.destroy();
        resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (err) => reject(transportError(err, client.server, true)));
    });
    // Once an answer is in, a write error (EPIPE, ECONNRESET from the server closing an
    // upload it refused) says nothing new.
    req.on('error', (err) => {
      if (!answered) reject(transportError(err, client.server, connected));
    });
    if (stream) {
      stream.on('error', (err) => {
        req.destroy();
        reject(err instanceof AppError ? err : new AppError('IO', `cannot read the upload: ${err.message}`));
      });
      stream.pipe(req);
    } else {
      req.end(payload);
    }
  });
}

/**
 * GETs `path` and streams its body into the file `out`, which appears whole or not at
 * all. When the server names the bytes by a strong ETag of their SHA-256 (package files),
 * a body that hashes to anything else is refused and nothing is written.
 */
export async function downloadFile(client: Client, path: string, out: string): Promise<{ bytes: number; sha256: string }> {
  const url = new URL(`${client.server}${path}`);
  const headers = { authorization: `Bearer ${client.token}`, accept: 'application/octet-stream, application/json' };
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    let connected = false;
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method: 'GET', headers });
    req.on('socket', (socket) => {
      if (socket.connecting) socket.once('connect', () => (connected = true));
      else connected = true;
    });
    req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('response', resolve);
    req.on('error', (err) => reject(transportError(err, client.server, connected)));
    req.end();
  });
  const status = res.statusCode ?? 0;
  if (status < 200 || status >= 300) {
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      parsed = undefined;
    }
    throw refusal(status, res.statusMessage ?? '', parsed);
  }
  const expected = /^"([0-9a-f]{64})"$/.exec(res.headers.etag ?? '')?.[1];
  const hash = createHash('sha256');
  let bytes = 0;
  async function* hashed(source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      hash.update(chunk);
      bytes += chunk.length;
      yield chunk;
    }
  }
  return writeAtomically(out, async (tmp) => {
    try {
      await pipeline(res, hashed, createWriteStream(tmp, { flags: 'wx' }));
    } catch (err) {
      if (err instanceof AppError) throw err;
      // The file's own failure (no such directory, no permission, disk full) names the file.
      const syscall = (err as NodeJS.ErrnoException).syscall;
      if (syscall === 'open' || syscall === 'write') throw new AppError('IO', `cannot write ${out}: ${(err as Error).message}`, { cause: err });
      throw transportError(err as Error, client.server, true);
    }
    const sha256 = hash.digest('hex');
    if (expected !== undefined && sha256 !== expected) {
      throw new AppError('INTEGRITY', `the download of ${path} hashes to ${sha256}, not the ${expected} the server named; nothing written`);
    }
    return { bytes, sha256 };
  });
}

const transportReasons: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is fota serve running?)',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'no such host (DNS lookup failed)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: `no answer within ${IDLE_TIMEOUT_MS / 1000} s`,
  ECONNRESET: 'the connection was reset',
  EPIPE: 'the server closed the connection',
};

function transportError(err: Error, server: string, connected: boolean): AppError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const reason = transportReasons[code] ?? oneLine(err.message || code || 'connection failed');
  const what = connected ? 'lost the connection to' : 'cannot reach';
  return new AppError('IO', `${what} fota server at ${server}: ${reason}`, { cause: err });
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
