// `fota device list|show|tag`: an operator reads the fleet and tags devices (cohorts
// select by tag). `fota device run` (the device agent) is in device.ts.
import { type DeviceListItem, deviceListItemSchema } from '../devices/list.ts';
import { type DeviceView, deviceViewSchema } from '../devices/schemas.ts';
import { tagsAnswerSchema } from '../devices/tags.ts';
import { callServer, clientFrom, serverHelp, serverOptions } from './client.ts';
import { ExitCode, type Output, parseOptions, required, UsageError } from './io.ts';
import { type Column, fetchList, pageHelp, pageOptions, printList, shortTime, table } from './pages.ts';

export const fleetHelp: Record<string, string> = {
  list: `Usage: fota device list [--model M] [--version V] [--tag T] [--last-seen-before TIME]
                        [--campaign CMP] [--limit N] [--cursor C] [--all] [--json]

Devices in id order (operator): id, model, firmware version, tags, last contact.
--last-seen-before takes an ISO 8601 time (2026-12-01T00:00:00Z) and lists devices not
seen since then, and those never seen; --campaign lists the devices of a campaign.

${pageHelp}

${serverHelp}
`,
  show: `Usage: fota device show DEVID [--json]

A device (operator): model, firmware, tags, last contact, its inventory (the DM nodes it
reported) and its deployments.

${serverHelp}
`,
  tag: `Usage: fota device tag DEVID [--add T1,T2] [--remove T3]

Adds and removes tags of a device in one step (operator) and prints its tags after.
Campaign cohorts select devices by tag.

${serverHelp}
`,
};

export async function fleetCommand(sub: string, args: string[], io: Output): Promise<number> {
  switch (sub) {
    case 'list':
      return list(args, io);
    case 'show':
      return show(args, io);
    case 'tag':
      return tag(args, io);
    default:
      throw new UsageError(`unknown subcommand: device ${sub}`);
  }
}

const deviceColumns: Array<Column<DeviceListItem>> = [
  { header: 'ID', cell: (d) => d.id },
  { header: 'MODEL', cell: (d) => d.model },
  { header: 'VERSION', cell: (d) => d.firmwareVersion ?? '-' },
  { header: 'TAGS', cell: (d) => d.tags.join(',') || '-' },
  { header: 'LAST SEEN', cell: (d) => shortTime(d.lastSeen) },
];

async function list(args: string[], io: Output): Promise<number> {
  const { values } = parseOptions(args, {
    model: { type: 'string' },
    version: { type: 'string' },
    tag: { type: 'string' },
    'last-seen-before': { type: 'string' },
    campaign: { type: 'string' },
    ...pageOptions,
    ...serverOptions,
  });
  if (values.help) return io.out(fleetHelp.list ?? ''), ExitCode.Ok;
  const before = values['last-seen-before'];
  if (before !== undefined && Number.isNaN(Date.parse(before))) throw new UsageError(`--last-seen-before takes an ISO 8601 time such as 2026-12-01T00:00:00Z, got ${JSON.stringify(before)}`);
  const client = clientFrom(values);
  const filters = {
    model: values.model,
    version: values.version,
    tag: values.tag,
    // The server takes a full ISO time; a date alone means its start, in UTC.
    lastSeenBefore: before === undefined ? undefined : new Date(Date.parse(before)).toISOString(),
    campaign: values.campaign,
  };
  const listed = await fetchList(client, '/api/v1/devices', filters, deviceListItemSchema.loose(), values);
  printList(io, listed, deviceColumns, values, 'devices');
  return ExitCode.Ok;
}

async function show(args: string[], io: Output): Promise<number> {
  const { values, positionals } = parseOptions(args, { json: { type: 'boolean' }, ...serverOptions }, 1);
  if (values.help) return io.out(fleetHelp.show ?? ''), ExitCode.Ok;
  const id = required(positionals[0], 'the device id (fota device show DEVID)');
  const device = await callServer(clientFrom(values), 'GET', `/api/v1/devices/${encodeURIComponent(id)}`, deviceViewSchema.loose());
  io.out(values.json ? `${JSON.stringify(device, null, 2)}\n` : describeDevice(device));
  return ExitCode.Ok;
}

function describeDevice(device: DeviceView): string {
  const fields = [
    ['id', device.id],
    ['model', device.model],
    ['manufacturer', device.manufacturer ?? '-'],
    ['firmware', device.firmwareVersion ?? '-'],
    ['tags', device.tags.join(', ') || '-'],
    ['auth', device.authType],
    ['registered', shortTime(device.createdAt)],
    ['last seen', shortTime(device.lastSeen)],
  ];
  const width = Math.max(...fields.map(([name]) => (name ?? '').length));
  let text = fields.map(([name, value]) => `${`${name}:`.padEnd(width + 1)}  ${value}\n`).join('');
  const inventory = Object.entries(device.inventory).map(([uri, node]) => ({ uri, ...node }));
  if (inventory.length) {
    text += `\n${table(inventory, [
      { header: 'NODE', cell: (n) => n.uri },
      { header: 'VALUE', cell: (n) => n.value },
      { header: 'AT', cell: (n) => shortTime(n.at) },
    ])}`;
  }
  text += device.deployments.length
    ? `\n${table(device.deployments, [
        { header: 'DEPLOYMENT', cell: (d) => d.id },
        { header: 'BUILD', cell: (d) => d.buildId ?? d.app ?? 'configuration' },
        { header: 'STATE', cell: (d) => d.state },
        { header: 'RESULT', cell: (d) => (d.resultCode === null ? '-' : String(d.resultCode)) },
      ])}`
    : '\ndeployments: none\n';
  return text;
}

async function tag(args: string[], io: Output): Promise<number> {
  const { values, positionals } = parseOptions(args, { add: { type: 'string' }, remove: { type: 'string' }, json: { type: 'boolean' }, ...serverOptions }, 1);
  if (values.help) return io.out(fleetHelp.tag ?? ''), ExitCode.Ok;
  const id = required(positionals[0], 'the device id (fota device tag DEVID --add T --remove T)');
  const add = tagList(values.add, '--add');
  const remove = tagList(values.remove, '--remove');
  if (!add && !remove) throw new UsageError('name tags to change: --add T1,T2 and/or --remove T3');
  const body = { ...(add ? { add } : {}), ...(remove ? { remove } : {}) };
  const answer = await callServer(clientFrom(values), 'POST', `/api/v1/devices/${encodeURIComponent(id)}/tags`, tagsAnswerSchema, { json: body });
  io.out(values.json ? `${JSON.stringify(answer, null, 2)}\n` : `${answer.id}: ${answer.tags.join(', ') || '(no tags)'}\n`);
  return ExitCode.Ok;
}

function tagList(value: string | undefined, flag: string): string[] | undefined {
  if (value === undefined) return undefined;
  const tags = value
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (tags.length === 0) throw new UsageError(`${flag} needs at least one tag (comma-separated), got ${JSON.stringify(value)}`);
  return [...new Set(tags)];
}
