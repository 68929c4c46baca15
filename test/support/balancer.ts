// A round-robin HTTP load balancer on loopback, as a cluster of fota processes runs behind:
// each request goes to the next backend, and to the one after when a backend refuses the
// connection (it died), so clients see one address while processes come and go. Request
// bodies are read whole before forwarding (DM messages and API calls are small), which
// is what lets a refused request be sent to another backend.
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Balancer {
  url: string;
  /** Requests each backend answered, by its URL. */
  answered: Map<string, number>;
  close(): Promise<void>;
}

export async function startBalancer(backends: string[]): Promise<Balancer> {
  const answered = new Map(backends.map((url) => [url, 0]));
  let next = 0;
  /** Attempt `tries` (from 1) of a request whose first backend was number `first`: each retry takes the next one after it. */
  const forward = (req: IncomingMessage, body: Buffer, res: ServerResponse, first: number, tries: number) => {
    const backend = new URL(backends[(first + tries - 1) % backends.length] ?? '');
    // Hop-by-hop headers are the balancer's own business with each side.
    const { connection: _connection, 'keep-alive': _keepAlive, ...headers } = req.headers;
    const upstream = httpRequest(
      // A connection of its own per request (agent: false): a pooled keep-alive socket to a
      // backend that has since died would fail with a reset after the request was written,
      // which cannot be retried safely; a fresh connect to a dead backend is refused before
      // anything is sent, and goes to the next backend.
      { host: backend.hostname, port: backend.port, method: req.method, path: req.url, headers: { ...headers, host: req.headers.host ?? backend.host }, agent: false },
      (reply) => {
        answered.set(backend.origin, (answered.get(backend.origin) ?? 0) + 1);
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(res);
        // A backend dying mid-reply cuts the client off, as a real balancer would.
        reply.once('error', () => res.destroy());
      },
    );
    upstream.once('error', (err: NodeJS.ErrnoException) => {
      if (!res.headersSent && err.code === 'ECONNREFUSED' && tries < backends.length) forward(req, body, res, first, tries + 1);
      else if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    upstream.end(body);
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => forward(req, Buffer.concat(chunks), res, next++, 1));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    answered,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
