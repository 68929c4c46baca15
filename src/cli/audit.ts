// `fota audit`: the audit log (operator or admin): who did what to which subject, newest
// first, filtered by subject, actor and action.
import { type AuditEvent, auditEventSchema } from '../audit/list.ts';
import { clientFrom, serverHelp, serverOptions } from './client.ts';
import { ExitCode, type Output, parseOptions } from './io.ts';
import { type Column, fetchList, pageHelp, pageOptions, printList, shortTime } from './pages.ts';

export const auditHelp = `Usage: fota audit [--subject ID] [--actor PERSON_ID] [--action A]
                  [--limit N] [--cursor C] [--all] [--json]

The audit log, newest first (operator or admin token): when, who (a person by name, or
the part of the server that acted, e.g. "fota (automatic)" for the campaign engine;
--actor takes a person id, psn_..., as --json shows it), what (build.upload,
device.register, campaign.approve, ...), to which subject (a build, device, campaign,
token id), and the event's details.

${pageHelp}

${serverHelp}
`;

const auditColumns: Array<Column<AuditEvent>> = [
  { header: 'AT', cell: (e) => shortTime(e.at) },
  { header: 'WHO', cell: (e) => e.actorName },
  { header: 'ACTION', cell: (e) => e.action },
  { header: 'SUBJECT', cell: (e) => e.subject },
  { header: 'DETAILS', cell: (e) => (Object.keys(e.details).length ? JSON.stringify(e.details) : '') },
];

export async function auditCommand(args: string[], io: Output): Promise<number> {
  const { values } = parseOptions(args, { subject: { type: 'string' }, actor: { type: 'string' }, action: { type: 'string' }, ...pageOptions, ...serverOptions });
  if (values.help) return io.out(auditHelp), ExitCode.Ok;
  const client = clientFrom(values);
  const listed = await fetchList(client, '/api/v1/audit', { subject: values.subject, actor: values.actor, action: values.action }, auditEventSchema.loose(), values);
  printList(io, listed, auditColumns, values, 'audit events');
  return ExitCode.Ok;
}
