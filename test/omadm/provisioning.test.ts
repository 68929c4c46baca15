// Bootstrap documents: the CP wap-provisioningdoc (XML and WBXML) and the DM bootstrap
// message (WBXML) carry one DM account, agree with Debian's libwbxml tools, and read back
// to the same account; hostile documents are refused with a reason.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import { CONTENT_TYPE_WBXML } from '../../src/omadm/codec/message.ts';
import { fromMessage } from '../../src/omadm/codec/syncml.ts';
import { accountFromCp, cpDocumentOf, serializeCpXml } from '../../src/omadm/provisioning/cp-document.ts';
import { decodeCpWbxml, encodeCpWbxml } from '../../src/omadm/provisioning/cp-wbxml.ts';
import { accountNodes, appAuthPaths, type DmAccount } from '../../src/omadm/provisioning/dm-account.ts';
import { dmBootstrapMessage, encodeDmBootstrap, readDmBootstrap } from '../../src/omadm/provisioning/dm-bootstrap.ts';
import { encodeMessage } from '../../src/omadm/codec/syncml.ts';
import { hasTool, tempDir } from '../support/harness.ts';
import { comparable, xmlToTree } from '../support/wbxml-xml.ts';

const libwbxml = hasTool('xml2wbxml', 'libwbxml2-utils') && hasTool('wbxml2xml', 'libwbxml2-utils');

const account: DmAccount = {
  accountId: 'fota',
  serverId: 'fota',
  name: 'fota server',
  address: 'https://dm.example:8443/dm',
  authType: 'DIGEST',
  client: { name: 'IMEI:356938035643809', secret: 'c&<l"i>ent-secret' },
  server: { name: 'fota', secret: 'server-secret-1' },
};

function tool(name: string, args: string[]): void {
  execFileSync(name, args, { stdio: 'pipe' });
}

/** Elements and attributes of an XML document, whitespace and DOCTYPE aside: enough to compare two CP documents. */
function cpTree(xml: string): unknown {
  const out: unknown[] = [];
  const stack: Array<{ name: string; attrs: Record<string, string>; children: unknown[] }> = [];
  const unescape = (t: string) => t.replaceAll('&quot;', '"').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&apos;', "'").replaceAll('&amp;', '&');
  for (const m of xml.matchAll(/<(\/?)([\w-]+)((?:\s+[\w-]+="[^"]*")*)\s*(\/?)>/g)) {
    const [, closing, name = '', attrText = '', selfClosing] = m;
    if (closing) {
      stack.pop();
      continue;
    }
    const attrs = Object.fromEntries([...attrText.matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1], unescape(a[2] ?? '')]));
    const el = { name, attrs, children: [] as unknown[] };
    (stack.at(-1)?.children ?? out).push(el);
    if (!selfClosing) stack.push(el);
  }
  return out;
}

describe('CP wap-provisioningdoc (w7)', () => {
  it('carries the account as an APPLICATION characteristic with APPID w7 and two APPAUTHs', () => {
    const xml = serializeCpXml(cpDocumentOf(account));
    expect(xml).toContain('<!DOCTYPE wap-provisioningdoc PUBLIC "-//WAPFORUM//DTD PROV 1.0//EN"');
    expect(xml).toContain('<parm name="APPID" value="w7"/>');
    expect(xml).toContain('<parm name="AAUTHLEVEL" value="APPSRV"/>');
    expect(xml).toContain('<parm name="AAUTHSECRET" value="c&amp;&lt;l&quot;i&gt;ent-secret"/>');
  });

  it('reads its own WBXML back to the same account', () => {
    const bytes = encodeCpWbxml(cpDocumentOf(account));
    expect([...bytes.subarray(0, 4)]).toEqual([0x03, 0x0b, 0x6a, 0x00]); // WBXML 1.3, PROV 1.0, UTF-8, no string table
    expect(accountFromCp(decodeCpWbxml(bytes))).toEqual(account);
  });

  it.skipIf(!libwbxml)('wbxml2xml decodes our WBXML to the same document as our XML', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'cp.wbxml'), encodeCpWbxml(cpDocumentOf(account)));
    tool('wbxml2xml', ['-m', '0', '-o', join(dir, 'cp.xml'), join(dir, 'cp.wbxml')]);
    const decoded = readFileSync(join(dir, 'cp.xml'), 'utf8');
    expect(decoded).toContain('-//WAPFORUM//DTD PROV 1.0//EN');
    expect(cpTree(decoded)).toEqual(cpTree(serializeCpXml(cpDocumentOf(account))));
  });

  it.skipIf(!libwbxml)('reads what xml2wbxml makes of our XML (string table, page switches) to the same account', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'cp.xml'), serializeCpXml(cpDocumentOf(account)));
    tool('xml2wbxml', ['-o', join(dir, 'cp.wbxml'), join(dir, 'cp.xml')]);
    expect(accountFromCp(decodeCpWbxml(readFileSync(join(dir, 'cp.wbxml'))))).toEqual(account);
  });

  const good = encodeCpWbxml(cpDocumentOf(account));
  const hostile: Array<[string, Uint8Array, RegExp]> = [
    ['an empty file', new Uint8Array(0), /end of input/],
    ['another public id (SyncML 1.2)', Uint8Array.from([0x03, 0xa4, 0x01, 0x6a, 0x00]), /not PROV 1.0/],
    ['a truncated document', good.subarray(0, good.length - 5), /end of input|unterminated/],
    ['a string table longer than the file', Uint8Array.from([0x03, 0x0b, 0x6a, 0x7f]), /past the end/],
    ['an unknown tag', Uint8Array.from([0x03, 0x0b, 0x6a, 0x00, 0x3f]), /unknown tag token/],
    ['bytes after the document', Uint8Array.from([...good, 0x05]), /after the document/],
    ['an oversized file', new Uint8Array(70 * 1024), /at most/],
    ['nesting past the limit', Uint8Array.from([0x03, 0x0b, 0x6a, 0x00, 0x45, ...Array(20).fill(0x46)]), /deeper than/],
    ['a multi-byte integer that never ends', Uint8Array.from([0x03, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), /longer than 5 bytes/],
  ];
  it.each(hostile)('refuses %s with the reason', (_name, bytes, reason) => {
    expect(() => decodeCpWbxml(bytes)).toThrow(reason);
  });

  it('refuses a document with no w7 application, and one whose PROVIDER-ID is a path trick', () => {
    expect(() => accountFromCp({ version: '1.0', characteristics: [{ type: 'APPLICATION', parms: [{ name: 'APPID', value: 'w2' }], children: [] }] })).toThrow(/APPID w7/);
    const doc = cpDocumentOf(account);
    const app = doc.characteristics[0];
    if (!app) throw new Error('no application');
    app.parms = app.parms.map((p) => (p.name === 'PROVIDER-ID' ? { ...p, value: '..' } : p));
    expect(() => accountFromCp(doc)).toThrow(AppError);
  });
});

describe('DM bootstrap message', () => {
  it('Adds the ./DMAcc/<x> subtree, interior nodes first, with no Cred', () => {
    const message = dmBootstrapMessage(account, 'IMEI:356938035643809');
    expect(message.header.cred).toBeUndefined();
    expect(message.header.target).toBe('IMEI:356938035643809');
    const targets = message.commands.map((c) => ('items' in c ? c.items[0]?.target : undefined));
    expect(targets[0]).toBe('./DMAcc/fota');
    expect(targets).toEqual(accountNodes(account).map((n) => n.uri));
    expect(targets).toContain(appAuthPaths('fota').clientSecret);
  });

  it('reads back to the same account and device', () => {
    expect(readDmBootstrap(encodeDmBootstrap(account, 'IMEI:1'))).toEqual({ devId: 'IMEI:1', account });
  });

  it.skipIf(!libwbxml)('wbxml2xml decodes our WBXML to the same SyncML document', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'dm.wbxml'), encodeDmBootstrap(account, 'IMEI:1'));
    tool('wbxml2xml', ['-m', '0', '-o', join(dir, 'dm.xml'), join(dir, 'dm.wbxml')]);
    const decoded = xmlToTree(readFileSync(join(dir, 'dm.xml'), 'utf8'));
    expect(comparable(decoded)).toEqual(comparable(fromMessage(dmBootstrapMessage(account, 'IMEI:1'))));
  });

  it('refuses a bootstrap that writes outside ./DMAcc, climbs with "..", or runs other commands', () => {
    const withTarget = (target: string) => {
      const m = dmBootstrapMessage(account, 'IMEI:1');
      const first = m.commands[1];
      if (first && 'items' in first && first.items[0]) first.items[0].target = target;
      return encodeMessage(m, CONTENT_TYPE_WBXML);
    };
    expect(() => readDmBootstrap(withTarget('./DevDetail/FwV'))).toThrow(/only build \.\/DMAcc/);
    expect(() => readDmBootstrap(withTarget('./DMAcc/fota/../../FUMO'))).toThrow(/"\.\."/);
    const exec = dmBootstrapMessage(account, 'IMEI:1');
    exec.commands.push({ kind: 'Exec', cmdId: 99, items: [{ target: './DMAcc/fota' }] });
    expect(() => readDmBootstrap(encodeMessage(exec, CONTENT_TYPE_WBXML))).toThrow(/only Add and Replace/);
    expect(() => readDmBootstrap(Uint8Array.from([0x03, 0x0b, 0x6a, 0x00]))).toThrow(AppError);
  });
});
