// `fota webhook add|list|remove`: an admin registers the URLs that hear of campaign state
// changes (started, paused with its reason, resumed, stage started, completed, cancelled).
// The signing secret is printed once, at `add`.
import { z } from 'zod';
import { callServer, clientFrom, serverHelp, serverOptions } from './client.ts';
import { ExitCode, type Output, parseOptions, required, UsageError } from './io.ts';

export const webhookHelp = `Usage: fota webhook add URL [--events E1,E2] [--server URL --token T]
       fota webhook list [--json]
       fota webhook remove ID

Operator webhooks (admin token). Each campaign event is POSTed as JSON to URL with
  X-Fota-Event: campaign.paused (the event type)
  X-Fota-Delivery: whd_... (the same on every retry of one delivery)
  X-Fota-Timestamp: Unix seconds when this attempt was sent
  X-Fota-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
Events: campaign.scheduled, campaign.start-failed, campaign.started, campaign.paused,
campaign.resumed, campaign.stage.started, campaign.stage.awaiting-approval,
campaign.forced, campaign.rollback-created, campaign.completed, campaign.cancelled
(--events picks some; default all). A failed delivery (no 2xx) is
retried with backoff for about 1.5 hours. add prints the signing secret once.
URLs on loopback, private or link-local hosts are refused unless the server runs
with FOTA_WEBHOOK_ALLOW_PRIVATE=true.

${serverHelp}
Exit codes: 0 done, 1 refused by the server, 2 usage error or server unreachable.
`;

const createdSchema = z.object({ id: z.string(), url: z.string(), events: z.array(z.string()).nullable(), secret: z.string() });
const listedSchema = z.array(
  z.object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.string()).nullable(),
    createdAt: z.string(),
    deliveries: z.object({ pending: z.number(), delivered: z.number(), failed: z.number() }),
    lastError: z.string().nullable(),
  }),
);

export async function webhookCommand(args: string[], io: Output): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'add': {
      const { values, positionals } = parseOptions(rest, { events: { type: 'string' }, ...serverOptions }, 1);
      const url = required(positionals[0], 'the URL (fota webhook add URL)');
      const events = values.events?.split(',').map((e) => e.trim()).filter(Boolean);
      const created = await callServer(clientFrom(values), 'POST', '/api/v1/webhooks', createdSchema, { json: { url, ...(events ? { events } : {}) } });
      io.out(`id: ${created.id}\nevents: ${created.events?.join(',') ?? 'all'}\nsecret: ${created.secret}\n`);
      io.err('(the secret is shown once; store it where the receiver verifies signatures)\n');
      return ExitCode.Ok;
    }
    case 'list': {
      const { values } = parseOptions(rest, { json: { type: 'boolean' }, ...serverOptions });
      const hooks = await callServer(clientFrom(values), 'GET', '/api/v1/webhooks', listedSchema);
      if (values.json) return io.out(`${JSON.stringify(hooks, null, 2)}\n`), ExitCode.Ok;
      if (hooks.length === 0) return io.out('no webhooks\n'), ExitCode.Ok;
      for (const h of hooks) {
        const { pending, delivered, failed } = h.deliveries;
        io.out(`${h.id}  ${h.url}  events: ${h.events?.join(',') ?? 'all'}  delivered ${delivered}, pending ${pending}, failed ${failed}${h.lastError ? `  last error: ${h.lastError}` : ''}\n`);
      }
      return ExitCode.Ok;
    }
    case 'remove': {
      const { values, positionals } = parseOptions(rest, serverOptions, 1);
      const id = required(positionals[0], 'the webhook ID (fota webhook remove ID)');
      await callServer(clientFrom(values), 'DELETE', `/api/v1/webhooks/${encodeURIComponent(id)}`, z.undefined());
      io.out(`removed ${id}\n`);
      return ExitCode.Ok;
    }
    default:
      throw new UsageError(sub ? `unknown command: webhook ${sub}` : 'missing command: webhook add|list|remove');
  }
}
