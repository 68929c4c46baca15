// `fota serve`: the HTTP server. For now it answers /healthz only; the management API,
// OMA DM and downloads are composed in server.ts as they arrive.
import { serve } from '@hono/node-server';
import { createApp } from '../server.ts';
import { integerOption, type Output, parseOptions } from './io.ts';

export const serveHelp = `Usage: fota serve [--port 8080] [--host 0.0.0.0]

Runs the fota server until SIGINT or SIGTERM.
`;

export async function serveCommand(args: string[], io: Output): Promise<number> {
  const { values } = parseOptions(args, { port: { type: 'string' }, host: { type: 'string' } });
  if (values.help) return io.out(serveHelp), 0;
  const port = integerOption(values.port, '--port', 0) ?? 8080;
  const hostname = values.host ?? '0.0.0.0';
  const server = serve({ fetch: createApp().fetch, port, hostname }, (info) => {
    io.out(`fota listening on http://${hostname === '0.0.0.0' ? 'localhost' : hostname}:${info.port}\n`);
  });
  await new Promise<void>((resolve) => {
    const stop = () => server.close(() => resolve());
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
