// The simulated fleet's end of Package 0: a small HTTP server on loopback that stands in
// for the SMS or WAP Push gateway of a real deployment. The fota server POSTs the binary
// notification to the webhook URL each simulated device was registered with
// (`/notify/<devId>`); the receiver checks that it is a well-formed Package 0 and hands it
// to the fleet, which opens that device's session now instead of at its next poll.
// The digest is not checked: like libdmclient, the agent holds no server password.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError } from '../../errors.ts';
import { type Notification, notificationSessionId, parseNotification } from '../../omadm/notification.ts';

/** A Package 0 is 24 bytes plus the server id (at most 255) plus vendor data. */
const MAX_BODY = 4096;

export interface WebhookOptions {
  host?: string;
  /** 0 (default): any free port. */
  port?: number;
  /** The URL the server should use, if not http://host:port (a proxy, another host). */
  publicUrl?: string;
  /** Takes a Package 0 for a device; false when there is no such device. */
  onNotify: (deviceId: string, sessionId: string, notification: Notification) => boolean;
}

export class WebhookReceiver {
  /** Notifications accepted / refused (malformed, unknown device). */
  received = 0;
  refused = 0;

  private constructor(
    private readonly server: Server,
    readonly baseUrl: string,
    readonly port: number,
  ) {}

  static async start(options: WebhookOptions): Promise<WebhookReceiver> {
    const host = options.host ?? '127.0.0.1';
    let receiver: WebhookReceiver | undefined;
    const server = createServer((req, res) => {
      if (receiver) receiver.handle(req, res, options);
    });
    // Notifications are tiny and rare per connection: no reason to hold sockets open.
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(new AppError('IO', `cannot listen for Package 0 on ${host}:${options.port ?? 0}: ${err.code ?? err.message}`)));
      server.listen(options.port ?? 0, host, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    const base = (options.publicUrl ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(/\/+$/, '');
    receiver = new WebhookReceiver(server, base, port);
    return receiver;
  }

  /** The webhook URL to register for a device. */
  urlFor(deviceId: string): string {
    return `${this.baseUrl}/notify/${encodeURIComponent(deviceId)}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse, options: WebhookOptions): void {
    const match = /^\/notify\/([^/?]+)$/.exec((req.url ?? '').split('?')[0] ?? '');
    if (!match?.[1]) return this.answer(res, 404, 'not a device webhook (POST /notify/<devId>)');
    if (req.method !== 'POST') return this.answer(res, 405, 'POST a Package 0 here');
    const deviceId = safeDecode(match[1]);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      if (size > MAX_BODY) return this.answer(res, 413, `a Package 0 is at most ${MAX_BODY} bytes`);
      let notification: Notification;
      try {
        notification = parseNotification(Buffer.concat(chunks));
      } catch (err) {
        return this.answer(res, 400, err instanceof AppError ? err.message : 'not a Package 0');
      }
      if (deviceId === undefined || !options.onNotify(deviceId, notificationSessionId(notification.sessionId), notification)) {
        return this.answer(res, 404, 'no such simulated device');
      }
      this.received += 1;
      res.writeHead(204).end();
    });
  }

  private answer(res: ServerResponse, status: number, message: string): void {
    this.refused += 1;
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end(`${message}\n`);
  }
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
