// An admin registers, lists and removes operator webhooks. The signing secret is made
// here, returned once, and kept only sealed by the key vault (the server must sign with
// it, so it cannot be a hash); the list never shows it.
import { randomBytes } from 'node:crypto';
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { assertWebhookUrl } from '../omadm/notifier.ts';
import { assertPublicWebhookHost } from '../omadm/webhook-address.ts';
import { newId } from '../store/ids.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { deleteWebhook, deliveryCounts, insertWebhook, listWebhooks } from '../store/queries/webhooks.ts';
import { auditActor, type Principal } from '../tokens/tokens.ts';
import type { CreateWebhook, WebhookView } from './schemas.ts';

export async function addWebhook(ctx: Context, principal: Principal, input: CreateWebhook): Promise<{ id: string; url: string; events: string[] | null; secret: string }> {
  const url = assertWebhookUrl(input.url);
  if (!ctx.config.dm.allowPrivateWebhooks) assertPublicWebhookHost(url);
  const secret = `whsec_${randomBytes(32).toString('base64url')}`;
  const { sealed, nonce } = ctx.vault.seal(new Uint8Array(Buffer.from(secret, 'utf8')));
  const id = newId('whk');
  const now = ctx.clock.now();
  const events = input.events ? [...new Set(input.events)] : null;
  await ctx.db.transaction(async (tx) => {
    await insertWebhook(tx, { id, url: url.href, events: events ? JSON.stringify(events) : null, secretSealed: sealed, secretNonce: nonce, createdBy: principal.personId, createdAt: now });
    // The host only: a path or query may carry the receiver's token.
    await recordAudit(tx, { ...auditActor(principal), action: 'webhook.add', subject: id, details: { by: principal.name, host: url.host, events } }, now);
  });
  return { id, url: url.href, events, secret };
}

export async function webhookViews(ctx: Context): Promise<WebhookView[]> {
  const [hooks, counts] = await Promise.all([listWebhooks(ctx.db), deliveryCounts(ctx.db)]);
  return hooks.map((hook) => {
    const mine = counts.filter((c) => c.webhookId === hook.id);
    const count = (state: string) => mine.find((c) => c.state === state)?.n ?? 0;
    return {
      id: hook.id,
      url: hook.url,
      events: hook.events === null ? null : (JSON.parse(hook.events) as string[]),
      createdAt: new Date(hook.createdAt).toISOString(),
      deliveries: { pending: count('pending'), delivered: count('delivered'), failed: count('failed') },
      lastError: mine.find((c) => c.state !== 'delivered' && c.lastError !== null)?.lastError ?? null,
    };
  });
}

export async function removeWebhook(ctx: Context, principal: Principal, id: string): Promise<void> {
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    if (!(await deleteWebhook(tx, id))) throw new AppError('NOT_FOUND', `no webhook ${id}`);
    await recordAudit(tx, { ...auditActor(principal), action: 'webhook.remove', subject: id, details: { by: principal.name } }, now);
  });
}
