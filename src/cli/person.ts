// `fota person create|list`: the people who hold tokens, named by an admin.
import { z } from 'zod';
import { callServer, clientFrom, serverHelp, serverOptions } from './client.ts';
import { ExitCode, type Output, parseOptions, UsageError } from './io.ts';

export const personHelp = `Usage: fota person create LOGIN [--display-name NAME] [--server URL] [--token T]
       fota person list [--server URL] [--token T]

People hold tokens (fota token create --person LOGIN). Four eyes compares people: one
person with two tokens cannot approve their own campaign. The console, the audit log and
refusals show the display name (the login when not given). Both need an admin token.
list prints one line per person and one per token (never the token itself).

${serverHelp}
Exit codes: 0 done, 1 refused by the server (its message says why), 2 usage error or
server unreachable.
`;

const personSchema = z.object({
  id: z.string(),
  login: z.string(),
  displayName: z.string(),
  tokens: z.array(z.object({ id: z.string(), name: z.string(), role: z.string(), manufacturer: z.string().nullable(), revokedAt: z.string().nullable() })),
});

export async function personCommand(args: string[], io: Output): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'create' && sub !== 'list') throw new UsageError(sub ? `unknown command: person ${sub}` : 'missing command: person create|list');
  const { values, positionals } = parseOptions(rest, { 'display-name': { type: 'string' }, ...serverOptions }, sub === 'create' ? 1 : 0);
  if (values.help) return io.out(personHelp), ExitCode.Ok;
  const client = clientFrom(values);
  if (sub === 'create') {
    const login = positionals[0];
    if (!login) throw new UsageError('person create needs the LOGIN');
    const displayName = values['display-name'];
    const created = await callServer(client, 'POST', '/api/v1/people', personSchema, { json: { login, ...(displayName === undefined ? {} : { displayName }) } });
    io.out(`person: ${created.id}\nlogin: ${created.login}\nname: ${created.displayName}\n`);
    return ExitCode.Ok;
  }
  const people = await callServer(client, 'GET', '/api/v1/people', z.array(personSchema));
  for (const person of people) {
    io.out(`${person.id}  ${person.login}${person.displayName === person.login ? '' : ` (${person.displayName})`}\n`);
    for (const t of person.tokens) io.out(`    ${t.id}  ${t.name}  ${t.role}${t.manufacturer ? ` for ${t.manufacturer}` : ''}${t.revokedAt ? `  revoked ${t.revokedAt}` : ''}\n`);
  }
  return ExitCode.Ok;
}
