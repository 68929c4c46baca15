// The XML form of a CP provisioning document, as the reference agent reads it for its
// bootstrap (src/omadm/provisioning/cp-xml.ts): what fota writes reads back to the same
// document and account, with or without libwbxml's round trip; hostile or malformed
// documents are refused with a reason.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { accountFromCp, cpDocumentOf, serializeCpXml } from '../../src/omadm/provisioning/cp-document.ts';
import type { DmAccount } from '../../src/omadm/provisioning/dm-account.ts';
import { parseCpXml } from '../../src/omadm/provisioning/cp-xml.ts';
import { hasTool, tempDir } from '../support/harness.ts';

const account: DmAccount = {
  accountId: 'fota',
  serverId: 'fota',
  name: 'fota server',
  address: 'https://dm.example:8443/dm?a=1&b=2',
  authType: 'DIGEST',
  client: { name: 'IMEI:356938035643809', secret: `c&<l"i>e'nt-secret` },
  server: { name: 'fota', secret: 'server-secret-1' },
};
const libwbxml = hasTool('xml2wbxml', 'libwbxml2-utils') && hasTool('wbxml2xml', 'libwbxml2-utils');
const doc = (body: string) => `<?xml version="1.0" encoding="UTF-8"?>\n<wap-provisioningdoc version="1.0">${body}</wap-provisioningdoc>`;

describe('the CP provisioning document in XML', () => {
  it('reads what fota writes back to the same document and account (text or bytes, with a byte order mark)', () => {
    const xml = serializeCpXml(cpDocumentOf(account));
    expect(parseCpXml(xml)).toEqual(cpDocumentOf(account));
    expect(accountFromCp(parseCpXml(new TextEncoder().encode(`\uFEFF${xml}`)))).toEqual(accountFromCp(cpDocumentOf(account)));
  });

  it('takes comments, single quotes and character references', () => {
    const parsed = parseCpXml(doc(`<!-- lot 7 --><characteristic type='APPLICATION'><parm name="NAME" value="a&#38;b&#x3C;"/></characteristic>`));
    expect(parsed.characteristics[0]).toEqual({ type: 'APPLICATION', parms: [{ name: 'NAME', value: 'a&b<' }], children: [] });
  });

  it.skipIf(!libwbxml)('reads what libwbxml writes back from our WBXML (wbxml2xml)', () => {
    const dir = tempDir();
    const xml = join(dir, 'doc.xml');
    writeFileSync(xml, serializeCpXml(cpDocumentOf(account)));
    execFileSync('xml2wbxml', ['-o', join(dir, 'doc.wbxml'), xml]);
    execFileSync('wbxml2xml', ['-o', join(dir, 'back.xml'), join(dir, 'doc.wbxml')]);
    expect(accountFromCp(parseCpXml(readFileSync(join(dir, 'back.xml'))))).toEqual(accountFromCp(cpDocumentOf(account)));
  });

  const hostile: Array<[string, string | Uint8Array, RegExp]> = [
    ['an entity declaration (internal subset)', `<?xml version="1.0"?><!DOCTYPE wap-provisioningdoc [<!ENTITY x "y">]>${doc('')}`, /internal subset/],
    ['an undefined entity', doc(`<characteristic type="&xxe;"/>`), /undefined entity/],
    ['a bare ampersand', doc(`<characteristic type="a & b"/>`), /must start an entity/],
    ['a character reference to NUL', doc(`<characteristic type="&#0;"/>`), /does not allow/],
    ['a DOCTYPE for another document', `<!DOCTYPE html>${doc('')}`, /another document type/],
    ['two DOCTYPEs', `<!DOCTYPE wap-provisioningdoc><!DOCTYPE wap-provisioningdoc>${doc('')}`, /second DOCTYPE/],
    ['another root', '<SyncML></SyncML>', /unknown element <SyncML>/],
    ['an unknown element', doc('<characteristic type="A"><script/></characteristic>'), /unknown element <script>/],
    ['an unknown attribute', doc('<characteristic type="A" onload="x"/>'), /unknown attribute onload/],
    ['an attribute twice', doc('<characteristic type="A" type="B"/>'), /attribute type twice/],
    ['text inside an element', doc('<characteristic type="A">hello</characteristic>'), /text where an element belongs/],
    ['a processing instruction inside', doc('<?php x ?>'), /processing instruction/],
    ['a tag never closed', '<wap-provisioningdoc><characteristic type="A">', /never closed/],
    ['mismatched tags', doc('<characteristic type="A"></parm>'), /does not match <characteristic>/],
    ['a < inside an attribute', doc('<characteristic type="<"/>'), /malformed attribute/],
    ['content after the root', `${doc('')}<wap-provisioningdoc/>`, /after the root/],
    ['a parm holding elements', doc('<characteristic type="A"><parm name="N" value="V"><parm name="M" value="W"/></parm></characteristic>'), /holds no elements/],
    ['a parm outside a characteristic', doc('<parm name="N" value="V"/>'), /<parm> where a <characteristic> belongs/],
    ['nesting too deep', doc(`${'<characteristic type="A">'.repeat(9)}${'</characteristic>'.repeat(9)}`), /nested deeper than 8/],
    ['too many elements', doc('<characteristic type="A"/>'.repeat(2_001)), /more than 2000 elements/],
    ['an oversized document', doc(`<!--${'x'.repeat(70_000)}-->`), /at most 65536 bytes/],
    ['bytes that are not UTF-8', new Uint8Array([0x3c, 0xff, 0xfe, 0x3e]), /not UTF-8/],
    ['an unterminated comment', `<!-- ${doc('')}`, /unterminated comment/],
  ];
  it.each(hostile)('refuses %s with the reason', (_name, input, reason) => {
    expect(() => parseCpXml(input)).toThrow(reason);
    expect(() => parseCpXml(input)).toThrow(/^not a CP provisioning document: /);
  });
});
