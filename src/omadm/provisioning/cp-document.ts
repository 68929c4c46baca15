// OMA Client Provisioning (CP) bootstrap: a `wap-provisioningdoc` whose APPLICATION
// characteristic with APPID `w7` carries a DM account (PROTOCOL.md "Beyond FUMO"). This
// module maps an account to the document and back, and writes the XML form; cp-wbxml.ts
// writes and reads the binary form (application/vnd.wap.connectivity-wbxml).
//
// Mapping (OMA DM Bootstrap 1.2): PROVIDER-ID -> ServerID (fota also names the DMAcc node
// after it), NAME -> Name, ADDR -> AppAddr/<x>/Addr, APPAUTH with AAUTHLEVEL APPSRV -> the
// client's credentials to the server (CLCRED), CLIENT -> the server's to the client (SRVCRED).
import { AppError } from '../../errors.ts';
import { type DmAccount, assertNodeName, authTypeOf } from './dm-account.ts';

export interface CpParm {
  name: string;
  value: string;
}

export interface CpCharacteristic {
  type: string;
  parms: CpParm[];
  children: CpCharacteristic[];
}

export interface CpDocument {
  version: string;
  characteristics: CpCharacteristic[];
}

export const CP_PUBLIC_ID = '-//WAPFORUM//DTD PROV 1.0//EN';
export const CP_CONTENT_TYPE = 'application/vnd.wap.connectivity-wbxml';

export function cpDocumentOf(account: DmAccount): CpDocument {
  const parm = (name: string, value: string): CpParm => ({ name, value });
  const auth = (level: 'APPSRV' | 'CLIENT', cred: { name: string; secret: string }): CpCharacteristic => ({
    type: 'APPAUTH',
    parms: [parm('AAUTHLEVEL', level), parm('AAUTHTYPE', account.authType), parm('AAUTHNAME', cred.name), parm('AAUTHSECRET', cred.secret)],
    children: [],
  });
  return {
    version: '1.0',
    characteristics: [
      {
        type: 'APPLICATION',
        parms: [parm('APPID', 'w7'), parm('PROVIDER-ID', account.serverId), parm('NAME', account.name), parm('ADDR', account.address)],
        children: [auth('APPSRV', account.client), auth('CLIENT', account.server)],
      },
    ],
  };
}

/** The DM account a CP document carries (its first w7 APPLICATION); refuses one that lacks a part by name. */
export function accountFromCp(doc: CpDocument): DmAccount {
  const app = doc.characteristics.find((c) => c.type === 'APPLICATION' && parmOf(c, 'APPID') === 'w7');
  if (!app) throw new AppError('VALIDATION', 'the provisioning document has no APPLICATION characteristic with APPID w7 (no DM account)');
  const serverId = parmOf(app, 'PROVIDER-ID');
  if (!serverId) throw new AppError('VALIDATION', 'the w7 APPLICATION has no PROVIDER-ID (the DM ServerID)');
  assertNodeName(serverId, 'PROVIDER-ID');
  const address = parmOf(app, 'ADDR') ?? app.children.filter((c) => c.type === 'APPADDR').map((c) => parmOf(c, 'ADDR')).find((a) => a !== undefined);
  if (!address) throw new AppError('VALIDATION', 'the w7 APPLICATION has no ADDR (where the DM server is)');
  const side = (level: string) => {
    const c = app.children.find((ch) => ch.type === 'APPAUTH' && parmOf(ch, 'AAUTHLEVEL') === level);
    return c && { name: parmOf(c, 'AAUTHNAME') ?? '', secret: parmOf(c, 'AAUTHSECRET') ?? '', type: parmOf(c, 'AAUTHTYPE') };
  };
  const client = side('APPSRV');
  if (!client || client.name === '' || client.secret === '') throw new AppError('VALIDATION', 'the w7 APPLICATION has no APPAUTH with AAUTHLEVEL APPSRV, AAUTHNAME and AAUTHSECRET (the device credentials)');
  const server = side('CLIENT') ?? { name: '', secret: '', type: undefined };
  return {
    accountId: serverId,
    serverId,
    name: parmOf(app, 'NAME') ?? serverId,
    address,
    authType: authTypeOf(client.type ?? 'DIGEST'),
    client: { name: client.name, secret: client.secret },
    server: { name: server.name, secret: server.secret },
  };
}

function parmOf(c: CpCharacteristic, name: string): string | undefined {
  return c.parms.find((p) => p.name === name)?.value;
}

/** The XML form, with the PROV 1.0 DOCTYPE libwbxml's xml2wbxml recognises. */
export function serializeCpXml(doc: CpDocument): string {
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<!DOCTYPE wap-provisioningdoc PUBLIC "${CP_PUBLIC_ID}" "http://www.wapforum.org/DTD/prov.dtd">`, `<wap-provisioningdoc version="${attr(doc.version)}">`];
  const write = (c: CpCharacteristic, indent: string) => {
    lines.push(`${indent}<characteristic type="${attr(c.type)}">`);
    for (const p of c.parms) lines.push(`${indent}  <parm name="${attr(p.name)}" value="${attr(p.value)}"/>`);
    for (const child of c.children) write(child, `${indent}  `);
    lines.push(`${indent}</characteristic>`);
  };
  for (const c of doc.characteristics) write(c, '  ');
  lines.push('</wap-provisioningdoc>', '');
  return lines.join('\n');
}

function attr(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}
