// The one export of a batch: per device a CP provisioning document (XML and WBXML) and a
// DM bootstrap message (WBXML), plus a CSV manifest. It carries the secrets in the clear,
// so it is handed out once: the first export marks the batch exported in the same
// transaction that reads the secrets, and every later export is refused (409) naming when
// and by whom it was taken. An operator who lost it creates a new batch.
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { cpDocumentOf, serializeCpXml } from '../omadm/provisioning/cp-document.ts';
import { encodeCpWbxml } from '../omadm/provisioning/cp-wbxml.ts';
import { encodeDmBootstrap } from '../omadm/provisioning/dm-bootstrap.ts';
import { recordAudit } from '../store/queries/audit.ts';
import type { DmAccount } from '../omadm/provisioning/dm-account.ts';
import { batchDevices, type EnrollmentBatchRow, findBatch, markExported } from '../store/queries/enrollments.ts';
import { auditActor, type Principal } from '../tokens/tokens.ts';
import { accountFor, unseal } from './accounts.ts';
import { toView } from './batches.ts';
import type { BatchExport, ExportFile } from './schemas.ts';

export async function exportBatch(ctx: Context, principal: Principal, id: string): Promise<BatchExport> {
  const now = ctx.clock.now();
  const { batch, devices, view } = await ctx.db.transaction(async (tx) => {
    const row = await findBatch(tx, id);
    if (!row) throw new AppError('NOT_FOUND', `no enrollment batch ${id}`);
    if (!(await markExported(tx, id, principal.personId, now))) {
      const at = row.exportedAt === null ? 'already' : `on ${new Date(row.exportedAt).toISOString()}`;
      throw new AppError('CONFLICT', `batch ${id} was exported ${at}: its secrets are shown once; create a new batch for new bootstrap files`);
    }
    await recordAudit(tx, { ...auditActor(principal), action: 'enroll.export', subject: id, details: { size: row.size } }, now);
    return { batch: { ...row, exportedAt: now }, devices: await batchDevices(tx, id), view: await toView(tx, { ...row, exportedAt: now }) };
  });
  const files: ExportFile[] = [];
  const manifest: string[] = [];
  const stems = new Set<string>();
  // A claim batch's files all carry the claim (a device's own credentials reach only the
  // device, over DM); otherwise each device's own, from its row.
  const claim = batch.claimName && batch.claimSecretSealed && batch.claimSecretNonce ? { name: batch.claimName, secret: unseal(ctx.vault, batch.claimSecretSealed, batch.claimSecretNonce) } : undefined;
  const claimServer = batch.claimServerSecretSealed && batch.claimServerSecretNonce ? unseal(ctx.vault, batch.claimServerSecretSealed, batch.claimServerSecretNonce) : '';
  for (const { device } of devices) {
    const client = claim ?? { name: device.authName, secret: unseal(ctx.vault, device.authSecretSealed, device.authSecretNonce) };
    const server = claim ? claimServer : device.serverSecretSealed && device.serverSecretNonce ? unseal(ctx.vault, device.serverSecretSealed, device.serverSecretNonce) : '';
    const written = deviceFiles(batch, device.id, accountFor(batch, client, server), uniqueStem(device.id, stems));
    files.push(...written.files);
    manifest.push(written.manifestRow);
  }
  return { batch: view, files: [manifestFile(manifest), ...files] };
}

const MANIFEST_HEADER = 'device_id,model,batch,auth_type,account_name,server_address,claim,cp_xml,cp_wbxml,dm_wbxml';

/** One device's three bootstrap documents and its manifest row (also for a reset's export, reset.ts). */
export function deviceFiles(batch: EnrollmentBatchRow, deviceId: string, account: DmAccount, stem: string): { files: ExportFile[]; manifestRow: string } {
  const paths = { cpXml: `devices/${stem}.cp.xml`, cpWbxml: `devices/${stem}.cp.wbxml`, dmWbxml: `devices/${stem}.dm.wbxml` };
  return {
    files: [
      { path: paths.cpXml, encoding: 'utf8', content: serializeCpXml(cpDocumentOf(account)) },
      { path: paths.cpWbxml, encoding: 'base64', content: Buffer.from(encodeCpWbxml(cpDocumentOf(account))).toString('base64') },
      { path: paths.dmWbxml, encoding: 'base64', content: Buffer.from(encodeDmBootstrap(account, deviceId)).toString('base64') },
    ],
    manifestRow: [deviceId, batch.model, batch.id, account.authType, account.client.name, batch.serverAddress, batch.claimName ?? '', paths.cpXml, paths.cpWbxml, paths.dmWbxml].map(csvField).join(','),
  };
}

/** manifest.csv: the header, then one row per device. */
export function manifestFile(rows: string[]): ExportFile {
  return { path: 'manifest.csv', encoding: 'utf8', content: `${[MANIFEST_HEADER, ...rows].join('\n')}\n` };
}

/** A file name for a device id (IMEI:... has a colon): safe characters only, unique in the export. */
export function uniqueStem(deviceId: string, taken: Set<string>): string {
  const base = deviceId.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  let stem = base;
  for (let n = 2; taken.has(stem); n++) stem = `${base}-${n}`;
  taken.add(stem);
  return stem;
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}
