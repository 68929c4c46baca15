// `fota device query`: the helpdesk live query from a terminal. Asks a device for presets
// and node paths (the server wakes it with a Package 0 unless --no-wake), then, with --wait,
// prints each result as the device answers: the time it was read, the node, its Status and
// its value; until every node has answered or --timeout passes.
import { HELPDESK_PRESET_NAMES, HELPDESK_PRESETS } from '../omadm/helpdesk-presets.ts';
import { type QueryResult, type QueryView, queryViewSchema } from '../devices/helpdesk/schemas.ts';
import { callServer, type Client, clientFrom, serverHelp, serverOptions } from './client.ts';
import { confirmBody, confirmHelp, confirmOptions } from './confirm-option.ts';
import { ExitCode, integerOption, type Output, parseOptions, required, UsageError } from './io.ts';
import { shortTime } from './pages.ts';

const DEFAULT_TIMEOUT_S = 300;
const POLL_MS = 1000;

export const deviceQueryHelp = `Usage: fota device query DEVID [--preset P1,P2] [--node PATH]... [--no-wake]
                         [--confirm TEXT [--confirm-wait 5m] [--confirm-default accept|reject]]
                         [--wait [--timeout SECONDS]] [--json]
       fota device query DEVID --query QUERYID [--wait] [--json]
       fota device query DEVID --query QUERYID --cancel [--json]

Asks the device now (operator or admin; the question is recorded in the device's history):
the server queues DM Gets of the nodes and wakes the device with a Package 0 (--no-wake:
it answers at its next poll). Presets:
${HELPDESK_PRESET_NAMES.map((name) => `  ${name.padEnd(13)} ${HELPDESK_PRESETS[name].label}: ${HELPDESK_PRESETS[name].nodes.map((n) => n.uri).join(', ')}`).join('\n')}
--node adds a node path (absolute, "./..."; repeat it, at most 32); an interior node is
read with its children.

Without --wait the command prints the query id and what has arrived; --wait prints each
result as the device answers (time read, node, Status, value) until all have answered or
--timeout (${DEFAULT_TIMEOUT_S} s) passes. --query shows an earlier query.

Fix a value from a query: fota device query DEVID --query QUERYID --fix ./Node=VALUE [--wait]
sends a one-device Replace of the node, then reads it again (operators only; recorded in
the device's history). --confirm works with --fix too.

Cancel a query: --cancel stops it; its nodes not sent to the device yet are never read
(those already sent keep their answer); recorded in the device's history. A query whose
nodes the device has not picked up within a day expires the same way.

With --confirm the device asks its user before it sends anything (the query waits for the
answer; a rejection ends it with nothing read):
${confirmHelp}

Exit codes: 0 asked (with --wait: every node answered, some perhaps with an error Status such
as 404 not found), 1 refused by the server or timed out, 2 usage.

${serverHelp}
`;

export async function deviceQueryCommand(args: string[], io: Output): Promise<number> {
  const { values, positionals } = parseOptions(
    args,
    { preset: { type: 'string', multiple: true }, node: { type: 'string', multiple: true }, query: { type: 'string' }, fix: { type: 'string' }, cancel: { type: 'boolean' }, 'no-wake': { type: 'boolean' }, wait: { type: 'boolean' }, timeout: { type: 'string' }, json: { type: 'boolean' }, ...confirmOptions, ...serverOptions },
    1,
  );
  if (values.help) return io.out(deviceQueryHelp), ExitCode.Ok;
  const id = required(positionals[0], 'the device id (fota device query DEVID --preset versions)');
  const timeoutS = integerOption(values.timeout, '--timeout', 1) ?? DEFAULT_TIMEOUT_S;
  const presets = (values.preset ?? []).flatMap((p) => p.split(',')).map((p) => p.trim()).filter(Boolean);
  const unknown = presets.find((p) => !(HELPDESK_PRESET_NAMES as string[]).includes(p));
  if (unknown) throw new UsageError(`unknown preset ${unknown}: ${HELPDESK_PRESET_NAMES.join(', ')}`);
  const nodes = values.node ?? [];
  if (values.query && (presets.length || nodes.length)) throw new UsageError('--query shows an earlier query: give it without --preset or --node');
  if (values.fix !== undefined && !values.query) throw new UsageError('--fix needs the query it fixes from: --query QUERYID');
  if (values.cancel && (!values.query || values.fix !== undefined || values.wait)) throw new UsageError('--cancel takes the query it cancels, alone: fota device query DEVID --query QUERYID --cancel');
  const confirm = confirmBody(values);
  if (confirm && values.query && values.fix === undefined) throw new UsageError('--confirm goes with a new query or a --fix');
  const fix = values.fix === undefined ? undefined : { ...fixOf(values.fix), ...(confirm ? { confirm } : {}) };
  if (!values.query && presets.length + nodes.length === 0) throw new UsageError('ask for something: --preset P (e.g. versions) or --node ./Some/Node');
  const client = clientFrom(values);
  const base = `/api/v1/devices/${encodeURIComponent(id)}/queries`;
  if (values.cancel && values.query) {
    const canceled = await callServer(client, 'POST', `${base}/${encodeURIComponent(values.query)}/cancel`, queryViewSchema);
    const unsent = canceled.results.filter((r) => r.state === 'failed' && r.statusCode === null).length;
    io.out(values.json ? `${JSON.stringify(canceled, null, 2)}\n` : `query ${canceled.id} ${canceled.canceled?.reason ?? 'canceled'}: ${unsent} node${unsent === 1 ? '' : 's'} never read\n`);
    return ExitCode.Ok;
  }
  let query = values.query
    ? fix
      ? await callServer(client, 'POST', `${base}/${encodeURIComponent(values.query)}/fixes`, queryViewSchema, { json: fix })
      : await callServer(client, 'GET', `${base}/${encodeURIComponent(values.query)}`, queryViewSchema)
    : await callServer(client, 'POST', base, queryViewSchema, { json: { ...(presets.length ? { presets } : {}), ...(nodes.length ? { nodes } : {}), wake: !values['no-wake'], ...(confirm ? { confirm } : {}) } });
  if (!values.json) io.out(`query ${query.id}: ${wakeLine(query)}${confirm ? `; the device asks its user first: ${JSON.stringify(confirm.text)}` : ''}\n`);
  const answered = (r: QueryResult) => r.state === 'done' || r.state === 'failed';
  // A fix prints what it changes and reads, not the query's earlier answers.
  const printed = new Set<string>(fix ? query.results.filter(answered).map((r) => r.id) : []);
  const print = (q: QueryView) => {
    if (values.json) return;
    for (const r of q.results) {
      if (printed.has(r.id) || !answered(r)) continue;
      printed.add(r.id);
      io.out(resultLine(r));
    }
  };
  print(query);
  if (!values.wait) {
    if (values.json) io.out(`${JSON.stringify(query, null, 2)}\n`);
    else if (query.state === 'canceled') io.out(`query ${query.id} is over: ${query.canceled?.reason ?? 'canceled'}\n`);
    else if (query.state !== 'done') io.out(`${query.results.filter((r) => !answered(r)).length} of ${query.results.length} still to come: fota device query ${id} --query ${query.id} --wait\n`);
    return ExitCode.Ok;
  }
  query = await follow(client, `${base}/${encodeURIComponent(query.id)}`, query, timeoutS, print);
  if (values.json) io.out(`${JSON.stringify(query, null, 2)}\n`);
  const refused = query.confirmation && !['waiting', 'asking', 'accepted', 'timeout'].includes(query.confirmation.state) ? query.confirmation.state : undefined;
  if (refused && !fix) return io.err(`fota: the device's user did not accept the query (${refused}): nothing was read\n`), ExitCode.Rejected;
  if (query.state === 'done') return ExitCode.Ok;
  if (query.state === 'canceled') return io.err(`fota: query ${query.id} is over: ${query.canceled?.reason ?? 'canceled'}\n`), ExitCode.Rejected;
  io.err(`fota: the device did not answer every node within ${timeoutS} s (${query.state}); follow it with: fota device query ${id} --query ${query.id} --wait\n`);
  return ExitCode.Rejected;
}

/** `./Node=VALUE` as the fix's body. */
function fixOf(text: string): { uri: string; data: string } {
  const at = text.indexOf('=');
  if (at <= 0 || at === text.length - 1) throw new UsageError(`--fix takes ./Node=VALUE, got ${JSON.stringify(text)}`);
  return { uri: text.slice(0, at), data: text.slice(at + 1) };
}

/** Reads the query again every second until it is done or the time is up. */
async function follow(client: Client, path: string, first: QueryView, timeoutS: number, onChange: (q: QueryView) => void): Promise<QueryView> {
  const deadline = Date.now() + timeoutS * 1000;
  let query = first;
  while (query.state !== 'done' && query.state !== 'canceled' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))));
    query = await callServer(client, 'GET', path, queryViewSchema);
    onChange(query);
  }
  return query;
}

function wakeLine(q: QueryView): string {
  if (!q.wake) return 'waiting for the device to poll';
  return q.wake.delivered ? 'device woken by Package 0' : `device not woken (${q.wake.reason ?? 'no answer'}); waiting for its poll`;
}

function resultLine(r: QueryResult): string {
  const status = r.statusCode === null ? r.state : `${r.statusCode} ${r.statusText ?? ''}`.trim();
  const value = r.value === null ? '' : r.format === 'node' ? `(children: ${r.value.split('/').join(', ')})` : r.value.includes('\n') ? `\n${indent(r.value)}${r.truncated ? '\n    …' : ''}` : r.value;
  return `${shortTime(r.readAt)}  ${r.command === 'Get' ? '' : `${r.command} `}${r.uri}  ${status}${value ? `  ${value}` : ''}\n`;
}

const indent = (text: string) =>
  text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
