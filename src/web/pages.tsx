// The console's small pages: signing in, and the page shown when something is refused
// or missing.

export function LoginContent(props: { error?: string | undefined; next?: string | undefined }) {
  return (
    <section class="card login">
      <h1>Sign in</h1>
      <p class="muted">Paste your operator API token (from <code>fota token create --role operator</code>). It stays in this browser session only.</p>
      {props.error ? (
        <p class="flash error" role="alert" data-testid="login-error">
          {props.error}
        </p>
      ) : null}
      <form method="post" action="/login" data-testid="login-form">
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required maxlength={512} spellcheck={false} data-testid="login-token" />
        {props.next ? <input type="hidden" name="next" value={props.next} /> : null}
        <p>
          <button class="primary" type="submit" data-testid="login-submit">
            Sign in
          </button>
        </p>
      </form>
    </section>
  );
}

export function ErrorContent(props: { status: number; title: string; message: string; back?: { href: string; label: string } | undefined }) {
  return (
    <section class="card" data-testid="error-page">
      <h1>{props.title}</h1>
      <p data-testid="error-message">{props.message}</p>
      <p class="muted">HTTP {String(props.status)}</p>
      <p>
        <a href={props.back?.href ?? '/'}>{props.back?.label ?? 'Back to the console'}</a>
      </p>
    </section>
  );
}
