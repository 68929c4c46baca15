// Tokens, for admins: the list (name, role, manufacturer, created, revoked; never a secret),
// a form that creates one and shows it once on the page that answers the form, and revoke
// buttons. Operators and manufacturers get a 403 page. Every POST passes the console's
// same-origin check; the new token's page is no-store like every console page.
import type { Context as HonoContext, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { statusOf } from '../http/status.ts';
import { revokeToken, type TokenSummary, tokenList } from '../tokens/admin.ts';
import { createTokenSchema } from '../tokens/schemas.ts';
import { createToken, ROLES } from '../tokens/tokens.ts';
import { when } from './format.ts';
import type { Flash } from './layout.tsx';
import { type ConsoleKit, errorPage, render } from './render.tsx';
import type { ConsoleEnv } from './session.ts';

type C = HonoContext<ConsoleEnv>;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function TokensContent(props: { tokens: TokenSummary[]; selfId: string; created?: { id: string; token: string; name: string } }) {
  return (
    <>
      <h1>Tokens</h1>
      {props.created ? (
        <section class="card" data-testid="new-token-card">
          <h2>{`New token for ${props.created.name}`}</h2>
          <p>Copy it now: it is shown this once and never again (the server keeps only its hash).</p>
          <p>
            <code class="secret" data-testid="new-token">
              {props.created.token}
            </code>
          </p>
        </section>
      ) : null}
      <section class="card">
        <h2>Create a token</h2>
        <form method="post" action="/tokens" class="actions" data-testid="token-form">
          <label>
            name (who or what uses it)
            <input name="name" size={20} autocomplete="off" data-testid="token-name" />
          </label>
          <label>
            role
            <select name="role" data-testid="token-role">
              {ROLES.map((r) => (
                <option value={r} selected={r === 'operator'}>
                  {r}
                </option>
              ))}
            </select>
          </label>
          <label>
            manufacturer (manufacturer tokens only)
            <input name="manufacturer" size={14} autocomplete="off" data-testid="token-manufacturer" />
          </label>
          <button class="primary" type="submit" data-testid="token-create">
            Create token
          </button>
        </form>
      </section>
      <section class="card">
        <h2>All tokens</h2>
        <div class="scroll">
          <table class="stack" data-testid="tokens">
            <thead>
              <tr>
                <th>name</th>
                <th>role</th>
                <th>created</th>
                <th>revoked</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {props.tokens.map((t) => (
                <tr data-testid={`token-row-${t.id}`}>
                  <td>
                    {t.name}
                    <div class="id muted">{t.id}</div>
                  </td>
                  <td data-label="role">{t.manufacturer ? `${t.role} (${t.manufacturer})` : t.role}</td>
                  <td data-label="created">{when(iso(t.createdAt))}</td>
                  <td data-label="revoked">{when(iso(t.revokedAt))}</td>
                  <td>
                    {t.revokedAt === null && t.id !== props.selfId ? (
                      <form method="post" action={`/tokens/${encodeURIComponent(t.id)}/revoke`} data-confirm={`Revoke ${t.name}'s token? It stops working at once.`}>
                        <button class="danger" type="submit" data-testid={`revoke-${t.id}`}>
                          Revoke
                        </button>
                      </form>
                    ) : t.id === props.selfId ? (
                      <span class="muted">you</span>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}

export function mountTokens(app: Hono<ConsoleEnv>, ctx: Context, kit: ConsoleKit): void {
  const { viewer, sameOrigin, form, page } = kit;

  const refuseNonAdmin = (c: C) => {
    const principal = c.get('principal');
    return principal.role === 'admin' ? undefined : errorPage(c, 403, 'Admins only', `${principal.name} is an ${principal.role}: tokens are managed by an admin.`, principal);
  };

  const tokensPage = async (c: C, extra: { flash?: Flash; created?: { id: string; token: string; name: string } } = {}, status: ContentfulStatusCode = 200) => {
    const principal = c.get('principal');
    const content = <TokensContent tokens={await tokenList(ctx)} selfId={principal.tokenId} {...(extra.created ? { created: extra.created } : {})} />;
    return render(c, content, { title: 'Tokens', principal, section: 'tokens', flash: extra.flash }, status);
  };

  app.get(
    '/tokens',
    viewer,
    page(async (c) => {
      const done = c.req.query('done');
      return refuseNonAdmin(c) ?? tokensPage(c, done === 'revoke' ? { flash: { kind: 'ok', text: 'Token revoked: it no longer works anywhere.' } } : {});
    }),
  );

  app.post(
    '/tokens',
    sameOrigin,
    form,
    viewer,
    page(async (c) => {
      const refused = refuseNonAdmin(c);
      if (refused) return refused;
      const body = await c.req.parseBody();
      const field = (name: string) => (typeof body[name] === 'string' ? body[name].trim() : '');
      const parsed = createTokenSchema.safeParse({ role: field('role'), name: field('name'), ...(field('manufacturer') ? { manufacturer: field('manufacturer') } : {}) });
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        return tokensPage(c, { flash: { kind: 'error', text: `${issue?.path.join('.') ?? 'token'}: ${issue?.message ?? 'invalid'}` } }, 400);
      }
      try {
        const created = await createToken(ctx, c.get('principal'), parsed.data);
        // Shown in this response only; the log line names the token id, never the secret.
        ctx.log.info({ requestId: c.get('requestId'), tokenId: created.id, role: parsed.data.role }, 'console token created');
        return tokensPage(c, { created: { ...created, name: parsed.data.name }, flash: { kind: 'ok', text: 'Token created.' } }, 201);
      } catch (err) {
        if (err instanceof AppError) return tokensPage(c, { flash: { kind: 'error', text: err.message } }, statusOf[err.code]);
        throw err;
      }
    }),
  );

  app.post(
    '/tokens/:id/revoke',
    sameOrigin,
    form,
    viewer,
    page(async (c) => {
      const refused = refuseNonAdmin(c);
      if (refused) return refused;
      try {
        await revokeToken(ctx, c.get('principal'), c.req.param('id') ?? '');
      } catch (err) {
        if (err instanceof AppError && err.code === 'CONFLICT') return tokensPage(c, { flash: { kind: 'error', text: err.message } }, 409);
        throw err;
      }
      return c.redirect('/tokens?done=revoke', 303);
    }),
  );
}
