// Under the Node server, @hono/node-server passes Node's own request as `c.env.incoming`;
// routes that stream a body, and the error handler that closes a connection after a
// refusal, reach for it. Absent under app.request (tests without a port).
import { IncomingMessage } from 'node:http';

export function nodeRequest(env: unknown): IncomingMessage | undefined {
  if (typeof env !== 'object' || env === null || !('incoming' in env)) return undefined;
  return env.incoming instanceof IncomingMessage ? env.incoming : undefined;
}
