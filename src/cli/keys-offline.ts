// `fota keys register|show|revoke|policy`: the server's copy of a manufacturer's offline
// signing. Only signed roots of public keys are sent; a secret key file is refused before
// anything leaves this machine.
import { readFile } from 'node:fs/promises';
import { type OfflineSigningView, offlineSigningViewSchema } from '../manufacturers/offline-schemas.ts';
import { parseRoot } from '../signing/offline-root.ts';
import { callServer, clientFrom, serverHelp, serverOptions } from './client.ts';
import { ExitCode, type Output, parseOptions, required, UsageError } from './io.ts';

export const keysOfflineHelp = `Usage: fota keys register ROOT.json
       fota keys show NAME [--json]
       fota keys revoke KEYID --manufacturer NAME
       fota keys policy NAME (--require-offline-signing | --allow-server-signing)

register  sends a signed root of offline keys (fota keys root) to the server: version 1
          when the manufacturer has none, else the next version (a rotation signed by
          the keys of the latest). Public keys only; secret keys never leave this machine.
show      the offline keys, threshold, policy and chain of roots the server holds.
revoke    the server stops counting KEYID at once (devices stop when a rotation
          leaves it out).
policy    --require-offline-signing: the server refuses builds without a valid target
          statement (fota build sign). --allow-server-signing: the quick-start default,
          the server's own key alone vouches for builds.
Admin, or a manufacturer token for its own manufacturer.

${serverHelp}
`;

export async function keysOfflineCommand(sub: 'register' | 'show' | 'revoke' | 'policy', args: string[], io: Output): Promise<number> {
  const { values, positionals } = parseOptions(
    args,
    { manufacturer: { type: 'string' }, json: { type: 'boolean' }, 'require-offline-signing': { type: 'boolean' }, 'allow-server-signing': { type: 'boolean' }, ...serverOptions },
    1,
  );
  if (values.help) return io.out(keysOfflineHelp), ExitCode.Ok;
  const client = clientFrom(values);
  const base = (name: string) => `/api/v1/manufacturers/${encodeURIComponent(name)}`;
  let view: OfflineSigningView;
  switch (sub) {
    case 'register': {
      const file = required(positionals[0], 'ROOT.json (fota keys register ROOT.json)');
      const text = await readFile(file, 'utf8');
      if (/"secretKey"/.test(text)) throw new UsageError(`${file} holds a secret key; register the signed root (fota keys root), never a key file`);
      const root = parseRoot(text, file);
      view = await callServer(client, 'POST', `${base(values.manufacturer ?? root.signed.manufacturer)}/offline-keys`, offlineSigningViewSchema, { json: root });
      break;
    }
    case 'show':
      view = await callServer(client, 'GET', `${base(required(positionals[0], 'the manufacturer NAME'))}/offline-keys`, offlineSigningViewSchema);
      break;
    case 'revoke': {
      const keyid = required(positionals[0], 'the KEYID to revoke');
      view = await callServer(client, 'POST', `${base(required(values.manufacturer, '--manufacturer NAME'))}/offline-keys/${encodeURIComponent(keyid)}/revoke`, offlineSigningViewSchema);
      break;
    }
    case 'policy': {
      const name = required(positionals[0], 'the manufacturer NAME');
      const requireOffline = values['require-offline-signing'] === true;
      if (requireOffline === (values['allow-server-signing'] === true)) throw new UsageError('give --require-offline-signing or --allow-server-signing');
      view = await callServer(client, 'POST', `${base(name)}/offline-policy`, offlineSigningViewSchema, { json: { requireOfflineSigning: requireOffline } });
      break;
    }
  }
  io.out(values.json ? `${JSON.stringify(view, null, 2)}\n` : describe(view));
  return ExitCode.Ok;
}

function describe(v: OfflineSigningView): string {
  const mode =
    v.mode === 'server-held'
      ? 'server-held keys only (quick start): the server can sign any image; register offline keys to change that'
      : `offline keys, root version ${v.rootVersion}, ${v.threshold} of ${v.keys.length} must sign each target statement`;
  const keys = v.keys.map((k) => `  ${k.keyid}  ${k.status}\n`).join('');
  return `${v.manufacturer}: ${mode}\nrequire offline signing: ${v.requireOfflineSigning ? 'yes' : 'no'}\n${keys}`;
}
