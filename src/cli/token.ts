// `fota token create`: asks the server for a new API token for a person, printed once on
// stdout (the server keeps only its hash).
import { z } from 'zod';
import { ROLES } from '../tokens/tokens.ts';
import { callServer, clientFrom, serverHelp, serverOptions } from './client.ts';
import { ExitCode, type Output, parseOptions, required, UsageError } from './io.ts';

export const tokenHelp = `Usage: fota token create --role admin|manufacturer|operator --name N
                         [--person LOGIN] [--manufacturer NAME] [--server URL] [--token T]

Creates an API token and prints it once:
  token: <token>
  id: <id>
  person: <person id>
Every token belongs to a person (--person LOGIN, created on first use; see fota person).
Four eyes and the audit log go by the person, so give one person's tokens the same
--person. An admin token creates tokens for anyone; without --person the person is the
one whose login equals --name. Any other token creates tokens only for its own person,
with its own role and manufacturer. --name says which of the person's tokens it is
(laptop, ci). A manufacturer token acts for one manufacturer (--manufacturer NAME,
created on first use); admin and operator tokens take no --manufacturer.

${serverHelp}
Exit codes: 0 created, 1 refused by the server (its message says why), 2 usage error or
server unreachable.
`;

const createdSchema = z.object({ id: z.string(), token: z.string(), personId: z.string() });

export async function tokenCommand(args: string[], io: Output): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'create') throw new UsageError(sub ? `unknown command: token ${sub}` : 'missing command: token create');
  const { values } = parseOptions(rest, { role: { type: 'string' }, name: { type: 'string' }, person: { type: 'string' }, manufacturer: { type: 'string' }, ...serverOptions });
  if (values.help) return io.out(tokenHelp), ExitCode.Ok;
  const role = required(values.role, `--role ${ROLES.join('|')}`);
  if (!isRole(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}, got ${role}`);
  const name = required(values.name, '--name N (who or what uses the token)');
  if (role === 'manufacturer' && values.manufacturer === undefined) throw new UsageError('--role manufacturer needs --manufacturer NAME (the manufacturer it acts for)');
  if (role !== 'manufacturer' && values.manufacturer !== undefined) throw new UsageError(`--manufacturer is only for --role manufacturer; an ${role} token is not scoped`);
  const client = clientFrom(values);
  const body = { role, name, ...(values.manufacturer === undefined ? {} : { manufacturer: values.manufacturer }), ...(values.person === undefined ? {} : { person: values.person }) };
  const created = await callServer(client, 'POST', '/api/v1/tokens', createdSchema, { json: body });
  io.out(`token: ${created.token}\nid: ${created.id}\nperson: ${created.personId}\n`);
  io.err('(the token is shown once; store it now)\n');
  return ExitCode.Ok;
}

function isRole(value: string): value is (typeof ROLES)[number] {
  return (ROLES as readonly string[]).includes(value);
}
