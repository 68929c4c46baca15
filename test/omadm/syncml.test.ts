import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it, onTestFinished } from 'vitest';
import { element, isElement, type SyncElement } from '../../src/omadm/codec/element.ts';
import type { Command, Item, Meta, SyncHdr, SyncMessage } from '../../src/omadm/codec/message.ts';
import { decodeMessage, encodeMessage, encodingOf, fromMessage, toMessage } from '../../src/omadm/codec/syncml.ts';
import { parseXml, serializeXml } from '../../src/omadm/codec/xml.ts';
import { AppError } from '../../src/errors.ts';
import { hasTool as hasDebianTool, SYNCML_SAMPLES } from '../support/harness.ts';

/** Under CI a missing libwbxml tool fails the test; elsewhere it is skipped with a reason. */
const hasTool = (name: string) => hasDebianTool(name, 'libwbxml2-utils');

// The shared FUMO flow samples (p1..p4, r1); see PROTOCOL.md.
const SAMPLES_DIR = SYNCML_SAMPLES;
const sampleText = (name: string): string => readFileSync(join(SAMPLES_DIR, `${name}.xml`), 'utf8');
const sample = (name: string): SyncMessage => toMessage(parseXml(sampleText(name)));
const SAMPLE_NAMES = ['p1', 'p2', 'p3', 'p4', 'r1'];

const XML = 'application/vnd.syncml.dm+xml';
const WBXML = 'application/vnd.syncml.dm+wbxml';
const ROOT_OPEN = '<SyncML xmlns="SYNCML:SYNCML1.2">';
const HEADER =
  '<SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>' +
  '<Target><LocURI>https://dm.example.com/dm</LocURI></Target><Source><LocURI>IMEI:1</LocURI></Source></SyncHdr>';
const withBody = (body: string): string => `${ROOT_OPEN}${HEADER}<SyncBody>${body}</SyncBody></SyncML>`;
const decodeXml = (text: string): SyncMessage => toMessage(parseXml(text));

function names(el: SyncElement | undefined): string[] {
  return (el?.children ?? []).filter(isElement).map((child) => child.name);
}

function child(el: SyncElement | undefined, name: string): SyncElement | undefined {
  return el?.children.find((c): c is SyncElement => isElement(c) && c.name === name);
}

function validationError(run: () => unknown): AppError {
  try {
    run();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected an AppError');
}


describe('toMessage on the protocol samples', () => {
  it('p1: client Package 1 with MD5 Cred, Alert 1200 and five DevInfo items', () => {
    const message = sample('p1');
    expect(message.header).toEqual({
      verDTD: '1.2',
      verProto: 'DM/1.2',
      sessionId: '1A2B',
      msgId: 1,
      target: 'https://dm.example.com/dm',
      source: 'IMEI:493005100592800',
      sourceName: 'dev01',
      cred: { meta: { type: 'syncml:auth-md5', format: 'b64' }, data: 'ts2ATuvghZyIcuyZDaNgbA==' },
      meta: { maxMsgSize: 16384, maxObjSize: 524288 },
    });
    expect(message.final).toBe(true);
    expect(message.commands).toEqual([
      { kind: 'Alert', cmdId: 1, data: '1200', items: [] },
      {
        kind: 'Replace',
        cmdId: 2,
        meta: { format: 'chr', type: 'text/plain' },
        items: [
          { source: './DevInfo/DevId', data: 'IMEI:493005100592800' },
          { source: './DevInfo/Man', data: 'Acme' },
          { source: './DevInfo/Mod', data: 'X100' },
          { source: './DevInfo/DmV', data: '1.2' },
          { source: './DevInfo/Lang', data: 'en-US' },
        ],
      },
    ]);
  });

  it('p2: server Package 2 with RespURI, header Status 212 + Chal, Get, Replace and Exec with Correlator', () => {
    const message = sample('p2');
    expect(message.header).toMatchObject({
      sessionId: '1A2B',
      msgId: 1,
      target: 'IMEI:493005100592800',
      source: 'https://dm.example.com/dm',
      sourceName: 'dmsrv',
      respUri: 'https://dm.example.com/dm?s=7f3a',
      cred: { meta: { type: 'syncml:auth-md5', format: 'b64' }, data: 'tixMcptWgCdZQy6jBTrRgQ==' },
      meta: { maxMsgSize: 65536 },
    });
    expect(message.commands).toEqual([
      {
        kind: 'Status',
        cmdId: 1,
        msgRef: 1,
        cmdRef: 0,
        cmd: 'SyncHdr',
        targetRefs: ['https://dm.example.com/dm'],
        sourceRefs: ['IMEI:493005100592800'],
        chal: { meta: { type: 'syncml:auth-md5', format: 'b64', nextNonce: 'Tk9OQ0UtbmV4dC0wMDI=' } },
        data: '212',
        items: [],
      },
      { kind: 'Status', cmdId: 2, msgRef: 1, cmdRef: 1, cmd: 'Alert', targetRefs: [], sourceRefs: [], data: '200', items: [] },
      { kind: 'Status', cmdId: 3, msgRef: 1, cmdRef: 2, cmd: 'Replace', targetRefs: [], sourceRefs: [], data: '200', items: [] },
      { kind: 'Get', cmdId: 4, items: [{ target: './DevDetail/FwV' }, { target: './FUMO/fw1/State' }] },
      {
        kind: 'Replace',
        cmdId: 5,
        items: [
          {
            target: './FUMO/fw1/DownloadAndUpdate/PkgURL',
            meta: { format: 'chr', type: 'text/plain' },
            data: 'https://fw.example.com/dd/X100-2.1.dd',
          },
        ],
      },
      { kind: 'Exec', cmdId: 6, correlator: 'job-42', items: [{ target: './FUMO/fw1/DownloadAndUpdate' }] },
    ]);
    expect(message.final).toBe(true);
  });

  it('p3: client Package 3 with Statuses and Results after the Get', () => {
    const message = sample('p3');
    expect(message.header).toEqual({
      verDTD: '1.2',
      verProto: 'DM/1.2',
      sessionId: '1A2B',
      msgId: 2,
      target: 'https://dm.example.com/dm?s=7f3a',
      source: 'IMEI:493005100592800',
    });
    const [hdrStatus, fwv, state, results, replace, exec] = message.commands;
    expect(hdrStatus).toMatchObject({ kind: 'Status', cmdRef: 0, cmd: 'SyncHdr', data: '212', chal: { meta: { nextNonce: 'c2VydmVyTm9uY2UwMg==' } } });
    expect(fwv).toMatchObject({ kind: 'Status', cmdId: 2, msgRef: 1, cmdRef: 4, cmd: 'Get', targetRefs: ['./DevDetail/FwV'], data: '200' });
    expect(state).toMatchObject({ kind: 'Status', cmdId: 3, targetRefs: ['./FUMO/fw1/State'], data: '200' });
    expect(results).toEqual({
      kind: 'Results',
      cmdId: 4,
      msgRef: 1,
      cmdRef: 4,
      items: [
        { source: './DevDetail/FwV', meta: { format: 'chr', type: 'text/plain' }, data: '2.0.7' },
        { source: './FUMO/fw1/State', meta: { format: 'int', type: 'text/plain' }, data: '10' },
      ],
    });
    expect(replace).toMatchObject({ kind: 'Status', cmdRef: 5, cmd: 'Replace', targetRefs: ['./FUMO/fw1/DownloadAndUpdate/PkgURL'], data: '200' });
    expect(exec).toMatchObject({ kind: 'Status', cmdRef: 6, cmd: 'Exec', targetRefs: ['./FUMO/fw1/DownloadAndUpdate'], data: '202' });
    expect(message.commands).toHaveLength(6);
  });

  it('p4: server reply with only the header Status', () => {
    expect(sample('p4')).toEqual({
      header: { verDTD: '1.2', verProto: 'DM/1.2', sessionId: '1A2B', msgId: 2, target: 'IMEI:493005100592800', source: 'https://dm.example.com/dm' },
      commands: [{ kind: 'Status', cmdId: 1, msgRef: 2, cmdRef: 0, cmd: 'SyncHdr', targetRefs: [], sourceRefs: [], data: '200', items: [] }],
      final: true,
    });
  });

  it('r1: later session with Alert 1201 and a FUMO Generic Alert 1226 carrying the Correlator', () => {
    const message = sample('r1');
    expect(message.header).toMatchObject({ sessionId: '3C', msgId: 1, source: 'IMEI:493005100592800', meta: { maxMsgSize: 16384 } });
    expect(message.commands[0]).toEqual({ kind: 'Alert', cmdId: 1, data: '1201', items: [] });
    expect(message.commands[1]).toMatchObject({ kind: 'Replace', cmdId: 2 });
    expect(message.commands[2]).toEqual({
      kind: 'Alert',
      cmdId: 3,
      data: '1226',
      correlator: 'job-42',
      items: [
        {
          source: './FUMO/fw1/DownloadAndUpdate',
          meta: { type: 'org.openmobilealliance.dm.firmwareupdate.downloadandupdate', format: 'int', mark: 'informational' },
          data: '200',
        },
      ],
    });
    expect(message.final).toBe(true);
  });

  it.each(SAMPLE_NAMES)('%s survives fromMessage -> serializeXml -> parseXml -> toMessage', (name) => {
    const message = sample(name);
    expect(toMessage(parseXml(serializeXml(fromMessage(message))))).toEqual(message);
  });

  it.skipIf(!hasTool('xml2wbxml'))('reads what Debian xml2wbxml makes of each sample as the same message', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fota-syncml-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    for (const name of SAMPLE_NAMES) {
      for (const [style, args] of [['libwbxml', []], ['toolkit', ['-v', '1.2', '-n']]] as const) {
        const out = join(dir, `${name}-${style}.wbxml`);
        execFileSync('xml2wbxml', [...args, '-o', out, join(SAMPLES_DIR, `${name}.xml`)], { stdio: 'ignore' });
        const decoded = decodeMessage(new Uint8Array(readFileSync(out)), WBXML);
        // libwbxml sends Add/Replace Item Data as OPAQUE: it arrives as bytes.
        const normalized = JSON.parse(JSON.stringify(decoded, (_key, value: unknown) => (value instanceof Uint8Array ? new TextDecoder().decode(value) : value))) as unknown;
        expect(normalized).toEqual(sample(name));
      }
    }
  });
});

describe('fromMessage writes children in the DTD order', () => {
  const root = fromMessage(sample('p2'));
  const header = child(root, 'SyncHdr');
  const body = child(root, 'SyncBody');
  const bodyCommands = (body?.children ?? []).filter(isElement);

  it('SyncML, SyncHdr and its Source', () => {
    expect(names(root)).toEqual(['SyncHdr', 'SyncBody']);
    expect(names(header)).toEqual(['VerDTD', 'VerProto', 'SessionID', 'MsgID', 'Target', 'Source', 'RespURI', 'Cred', 'Meta']);
    expect(names(child(header, 'Source'))).toEqual(['LocURI', 'LocName']);
    expect(names(child(header, 'Cred'))).toEqual(['Meta', 'Data']);
  });

  it('Status: CmdID, MsgRef, CmdRef, Cmd, TargetRef*, SourceRef*, Cred?, Chal?, Data, Item*', () => {
    const message: SyncMessage = {
      header: sample('p4').header,
      commands: [
        {
          kind: 'Status',
          cmdId: 1,
          msgRef: 1,
          cmdRef: 0,
          cmd: 'SyncHdr',
          targetRefs: ['a', 'b'],
          sourceRefs: ['c'],
          cred: { meta: { type: 'syncml:auth-basic' }, data: 'x' },
          chal: { meta: { type: 'syncml:auth-md5', format: 'b64', nextNonce: 'bg==' } },
          data: '401',
          items: [{ target: './x', data: 'y' }],
        },
      ],
      final: false,
    };
    const status = fromMessage(message).children.filter(isElement)[1]?.children.filter(isElement)[0];
    expect(names(status)).toEqual(['CmdID', 'MsgRef', 'CmdRef', 'Cmd', 'TargetRef', 'TargetRef', 'SourceRef', 'Cred', 'Chal', 'Data', 'Item']);
    expect(names(child(status, 'Chal'))).toEqual(['Meta']);
    expect(names(child(child(status, 'Chal'), 'Meta'))).toEqual(['Type', 'Format', 'NextNonce']);
    expect(names(fromMessage(message).children.filter(isElement)[1])).toEqual(['Status']);
  });

  it('Exec: CmdID, NoResp?, Meta?, Correlator?, Item', () => {
    const exec = fromMessage({
      header: sample('p4').header,
      commands: [{ kind: 'Exec', cmdId: 6, noResp: true, meta: { format: 'node' }, correlator: 'job-42', items: [{ target: './FUMO/fw1/Update' }] }],
      final: true,
    });
    expect(names(child(child(exec, 'SyncBody'), 'Exec'))).toEqual(['CmdID', 'NoResp', 'Meta', 'Correlator', 'Item']);
    expect(names(child(exec, 'SyncBody'))).toEqual(['Exec', 'Final']);
    expect(names(bodyCommands.find((c) => c.name === 'Exec'))).toEqual(['CmdID', 'Correlator', 'Item']);
  });

  it('Alert: CmdID, Data, Correlator?, Item*; Item: Target?, Source?, Meta?, Data?, MoreData?', () => {
    const alertRoot = fromMessage(sample('r1'));
    const alert = child(alertRoot, 'SyncBody')?.children.filter(isElement)[2];
    expect(names(alert)).toEqual(['CmdID', 'Data', 'Correlator', 'Item']);
    const item = fromMessage({
      header: sample('p4').header,
      commands: [{ kind: 'Replace', cmdId: 1, items: [{ target: './t', source: './s', sourceName: 'n', meta: { size: 3 }, data: 'abc', moreData: true }] }],
      final: true,
    });
    const written = child(child(child(item, 'SyncBody'), 'Replace'), 'Item');
    expect(names(written)).toEqual(['Target', 'Source', 'Meta', 'Data', 'MoreData']);
    expect(names(child(written, 'Source'))).toEqual(['LocURI', 'LocName']);
  });

  it('Meta: one metinf element per set field, in the order Type, Format, Mark, Size, NextNonce, MaxMsgSize, MaxObjSize', () => {
    const meta: Meta = { maxObjSize: 7, maxMsgSize: 6, nextNonce: 'n', size: 4, mark: 'critical', format: 'int', type: 't' };
    const written = fromMessage({ header: { ...sample('p4').header, meta }, commands: [], final: true });
    const metaElement = child(child(written, 'SyncHdr'), 'Meta');
    expect(metaElement?.page).toBe('syncml');
    expect(metaElement?.children).toEqual([
      element('Type', ['t'], 'metinf'),
      element('Format', ['int'], 'metinf'),
      element('Mark', ['critical'], 'metinf'),
      element('Size', ['4'], 'metinf'),
      element('NextNonce', ['n'], 'metinf'),
      element('MaxMsgSize', ['6'], 'metinf'),
      element('MaxObjSize', ['7'], 'metinf'),
    ]);
    const xml = serializeXml(written);
    expect(xml).toContain('<Meta><Type xmlns="syncml:metinf">t</Type>');
  });

  it('writes <Data/> for empty Item data (never drops it) and bytes as bytes', () => {
    const written = fromMessage({
      header: sample('p4').header,
      commands: [{ kind: 'Replace', cmdId: 1, items: [{ target: './a', data: '' }, { target: './b', data: new Uint8Array([1, 2]) }] }],
      final: true,
    });
    const items = child(child(written, 'SyncBody'), 'Replace')?.children.filter(isElement) ?? [];
    expect(child(items[1], 'Data')).toEqual(element('Data'));
    expect(child(items[2], 'Data')).toEqual(element('Data', [new Uint8Array([1, 2])]));
  });

  it.each([
    ['a negative CmdID', { kind: 'Alert', cmdId: -1, data: '1201', items: [] }, /CmdID must be a non-negative integer/],
    ['a fractional MsgRef', { kind: 'Status', cmdId: 1, msgRef: 1.5, cmdRef: 0, cmd: 'SyncHdr', targetRefs: [], sourceRefs: [], data: '200', items: [] }, /MsgRef/],
    ['a NaN Meta Size', { kind: 'Replace', cmdId: 1, meta: { size: Number.NaN }, items: [] }, /Meta Size/],
    ['a sourceName without source', { kind: 'Replace', cmdId: 1, items: [{ sourceName: 'x' }] }, /sourceName but no source/],
  ] as [string, Command, RegExp][])('refuses %s', (_name, command, message) => {
    expect(() => fromMessage({ header: sample('p4').header, commands: [command], final: true })).toThrow(
      expect.objectContaining({ code: 'VALIDATION', message: expect.stringMatching(message) }),
    );
  });
});

describe('toMessage is lenient about order', () => {
  it('accepts Correlator before Data in Alert (as the SyncML toolkit writes it)', () => {
    const message = decodeXml(
      withBody('<Alert><CmdID>3</CmdID><Correlator>job-42</Correlator><Data>1226</Data><Item><Source><LocURI>./FUMO/fw1</LocURI></Source><Data>200</Data></Item></Alert>'),
    );
    expect(message.commands).toEqual([{ kind: 'Alert', cmdId: 3, data: '1226', correlator: 'job-42', items: [{ source: './FUMO/fw1', data: '200' }] }]);
    expect(message.final).toBe(false);
  });

  it('accepts shuffled header, Status and Item children, layout whitespace in scalars, and ignores unknown extras', () => {
    const message = decodeXml(
      `${ROOT_OPEN}<SyncHdr><Meta><EMI xmlns="syncml:metinf">x</EMI><MaxMsgSize xmlns="syncml:metinf"> 1024 </MaxMsgSize></Meta>` +
        '<Source><LocName>dev</LocName><LocURI>IMEI:1</LocURI></Source><MsgID>\n 7\n</MsgID><Target><LocURI>srv</LocURI></Target>' +
        '<SessionID>A</SessionID><VerProto>DM/1.2</VerProto><VerDTD>1.2</VerDTD><Lang>en</Lang></SyncHdr>' +
        '<SyncBody><Status><Data>200</Data><Cmd>Get</Cmd><CmdRef>4</CmdRef><MsgRef>1</MsgRef><CmdID>2</CmdID><SourceRef>s</SourceRef><TargetRef>t</TargetRef></Status>' +
        '<Get><CmdID>3</CmdID><Item><Data> raw  </Data><Meta><Format>chr</Format></Meta><Target><LocURI>./x</LocURI><LocName>ignored</LocName></Target></Item></Get><Final/></SyncBody></SyncML>',
    );
    expect(message).toEqual({
      header: { verDTD: '1.2', verProto: 'DM/1.2', sessionId: 'A', msgId: 7, target: 'srv', source: 'IMEI:1', sourceName: 'dev', meta: { maxMsgSize: 1024 } },
      commands: [
        { kind: 'Status', cmdId: 2, msgRef: 1, cmdRef: 4, cmd: 'Get', targetRefs: ['t'], sourceRefs: ['s'], data: '200', items: [] },
        // Item Data is data: it keeps its whitespace.
        { kind: 'Get', cmdId: 3, items: [{ target: './x', meta: { format: 'chr' }, data: ' raw  ' }] },
      ],
      final: true,
    });
  });

  it('reads Atomic and Sequence with nested commands, NoResp and MoreData', () => {
    const message = decodeXml(
      withBody(
        '<Atomic><CmdID>1</CmdID><NoResp/><Replace><CmdID>2</CmdID><Item><Target><LocURI>./a</LocURI></Target><Data>1</Data><MoreData/></Item></Replace>' +
          '<Sequence><CmdID>3</CmdID><Delete><CmdID>4</CmdID><Item><Target><LocURI>./b</LocURI></Target></Item></Delete></Sequence></Atomic>',
      ),
    );
    expect(message.commands).toEqual([
      {
        kind: 'Atomic',
        cmdId: 1,
        noResp: true,
        commands: [
          { kind: 'Replace', cmdId: 2, items: [{ target: './a', data: '1', moreData: true }] },
          { kind: 'Sequence', cmdId: 3, commands: [{ kind: 'Delete', cmdId: 4, items: [{ target: './b' }] }] },
        ],
      },
    ]);
  });

  it('accepts a Meta holding a MetInf wrapper and xmlns on <Meta>', () => {
    const message = decodeXml(withBody('<Get><CmdID>1</CmdID><Meta xmlns="syncml:metinf"><MetInf><Type>a</Type><Size>9</Size></MetInf></Meta></Get>'));
    expect(message.commands[0]).toEqual({ kind: 'Get', cmdId: 1, meta: { type: 'a', size: 9 }, items: [] });
  });
});

describe('toMessage with WBXML opaque data', () => {
  const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
  const tree = (status: SyncElement, item: SyncElement): SyncElement => {
    const base = parseXml(withBody(''));
    const body = child(base, 'SyncBody');
    body?.children.push(status, element('Replace', [element('CmdID', ['2']), item]));
    return base;
  };
  const status = (data: Uint8Array): SyncElement =>
    element('Status', [element('CmdID', [bytes('1')]), element('MsgRef', ['1']), element('CmdRef', ['0']), element('Cmd', ['SyncHdr']), element('Data', [data])]);

  it('keeps Item Data bytes as bytes and decodes scalar fields as UTF-8 text', () => {
    const payload = new Uint8Array([0, 255, 1, 2]);
    const message = toMessage(tree(status(bytes('212')), element('Item', [element('Target', [element('LocURI', [bytes('./a')])]), element('Data', [payload])])));
    expect(message.commands[0]).toMatchObject({ kind: 'Status', cmdId: 1, data: '212' });
    expect(message.commands[1]).toEqual({ kind: 'Replace', cmdId: 2, items: [{ target: './a', data: payload }] });
  });

  it('joins text and bytes inside one Data into bytes', () => {
    const message = toMessage(tree(status(bytes('200')), element('Item', [element('Data', ['ab', new Uint8Array([0xff])])])));
    expect(message.commands[1]).toEqual({ kind: 'Replace', cmdId: 2, items: [{ data: new Uint8Array([0x61, 0x62, 0xff]) }] });
  });

  it('refuses a scalar field that is not UTF-8', () => {
    const error = validationError(() => toMessage(tree(status(new Uint8Array([0xff])), element('Item'))));
    expect(error).toMatchObject({ code: 'VALIDATION', message: 'Status (CmdID 1) Data is not UTF-8 text' });
  });
});

describe('toMessage refuses messages missing required parts, naming them', () => {
  const p1 = sampleText('p1');

  it.each([
    ['VerDTD', /<VerDTD>1\.2<\/VerDTD>/],
    ['VerProto', /<VerProto>DM\/1\.2<\/VerProto>/],
    ['SessionID', /<SessionID>1A2B<\/SessionID>/],
    ['MsgID', /<MsgID>1<\/MsgID>/],
    ['Target', /<Target>.*?<\/Target>/],
    ['Source', /<Source>.*?<\/Source>/],
  ])('a SyncHdr without %s', (name, pattern) => {
    const error = validationError(() => decodeXml(p1.replace(pattern, '')));
    expect(error).toMatchObject({ code: 'VALIDATION', message: `SyncHdr has no ${name}` });
  });

  it.each([
    ['SyncHdr Target without LocURI', p1.replace('<Target><LocURI>https://dm.example.com/dm</LocURI></Target>', '<Target/>'), 'SyncHdr Target has no LocURI'],
    ['SyncHdr Source without LocURI', p1.replace('<LocURI>IMEI:493005100592800</LocURI><LocName>', '<LocName>'), 'SyncHdr Source has no LocURI'],
    ['non-numeric MsgID', p1.replace('<MsgID>1</MsgID>', '<MsgID>one</MsgID>'), 'SyncHdr MsgID must be a non-negative integer, not "one"'],
    ['negative MsgID', p1.replace('<MsgID>1</MsgID>', '<MsgID>-1</MsgID>'), 'SyncHdr MsgID must be a non-negative integer, not "-1"'],
    ['an element inside MsgID', p1.replace('<MsgID>1</MsgID>', '<MsgID><Data>1</Data></MsgID>'), 'SyncHdr MsgID must hold text, not <Data>'],
    ['non-numeric CmdID', p1.replace('<CmdID>1</CmdID>', '<CmdID>1a</CmdID>'), 'Alert CmdID must be a non-negative integer, not "1a"'],
    ['a command without CmdID', p1.replace('<CmdID>1</CmdID>', ''), 'Alert has no CmdID'],
    ['an Alert without Data', p1.replace('<Data>1200</Data>', ''), 'Alert (CmdID 1) has no Data'],
    ['a Cred without Data', p1.replace('<Data>ts2ATuvghZyIcuyZDaNgbA==</Data>', ''), 'SyncHdr Cred has no Data'],
    ['an Item Source without LocURI', p1.replace('<Source><LocURI>./DevInfo/Man</LocURI></Source>', '<Source/>'), 'Replace (CmdID 2) Item Source has no LocURI'],
    ['an element inside Item Data', p1.replace('<Data>Acme</Data>', '<Data><Data>Acme</Data></Data>'), 'Replace (CmdID 2) Item Data must hold text or opaque data, not <Data>'],
    ['a non-numeric MaxMsgSize', p1.replace('>16384<', '>16k<'), 'SyncHdr Meta MaxMsgSize must be a non-negative integer, not "16k"'],
    ['a bad MetInf value in a Status Chal', withBody('<Status><CmdID>2</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Chal><Meta><Size xmlns="syncml:metinf">x</Size></Meta></Chal><Data>401</Data></Status>'), 'Status (CmdID 2) Chal Meta Size must be a non-negative integer, not "x"'],
    ['an element inside an Item Source LocName', withBody('<Replace><CmdID>3</CmdID><Item><Source><LocURI>./a</LocURI><LocName><X/></LocName></Source></Item></Replace>'), 'Replace (CmdID 3) Item Source LocName must hold text, not <X>'],
    ['a bad value in an Item Meta wrapped in MetInf', withBody('<Results><CmdID>4</CmdID><CmdRef>1</CmdRef><Item><Meta><MetInf><MaxObjSize>big</MaxObjSize></MetInf></Meta></Item></Results>'), 'Results (CmdID 4) Item Meta MaxObjSize must be a non-negative integer, not "big"'],
    ['a Status Cred without Data', withBody('<Status><CmdID>5</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Cred><Meta/></Cred><Data>401</Data></Status>'), 'Status (CmdID 5) Cred has no Data'],
    ['an unknown command', p1.replace('<Final/>', '<Sync><CmdID>9</CmdID></Sync><Final/>'), 'unsupported command <Sync> in SyncBody'],
    ['an unknown command in Atomic', withBody('<Atomic><CmdID>1</CmdID><Map/></Atomic>'), 'unsupported command <Map> in Atomic (CmdID 1)'],
    ['no SyncHdr', `${ROOT_OPEN}<SyncBody/></SyncML>`, 'SyncML has no SyncHdr'],
    ['no SyncBody', `${ROOT_OPEN}${HEADER}</SyncML>`, 'SyncML has no SyncBody'],
  ])('%s', (_name, text, message) => {
    expect(validationError(() => decodeXml(text))).toMatchObject({ code: 'VALIDATION', message });
  });

  const status = '<Status><CmdID>2</CmdID><MsgRef>1</MsgRef><CmdRef>1</CmdRef><Cmd>Alert</Cmd><Data>200</Data></Status>';
  it.each([
    ['Cmd', '<Cmd>Alert</Cmd>'],
    ['CmdRef', '<CmdRef>1</CmdRef>'],
    ['Data', '<Data>200</Data>'],
    ['MsgRef', '<MsgRef>1</MsgRef>'],
  ])('a Status without %s', (name, part) => {
    const error = validationError(() => decodeXml(withBody(status.replace(part, ''))));
    expect(error).toMatchObject({ code: 'VALIDATION', message: `Status (CmdID 2) has no ${name}` });
  });

  it.each([
    ['MsgRef', '<MsgRef>x</MsgRef>'],
    ['CmdRef', '<CmdRef>1.0</CmdRef>'],
  ])('a Status with a non-numeric %s', (name, part) => {
    const error = validationError(() => decodeXml(withBody(status.replace(new RegExp(`<${name}>1</${name}>`), part))));
    expect(error.message).toMatch(new RegExp(`^Status \\(CmdID 2\\) ${name} must be a non-negative integer`));
  });

  it('a Results without CmdRef', () => {
    expect(validationError(() => decodeXml(withBody('<Results><CmdID>4</CmdID></Results>'))).message).toBe('Results (CmdID 4) has no CmdRef');
  });

  it('a root that is not SyncML', () => {
    expect(validationError(() => toMessage(element('SyncHdr'))).message).toMatch(/root element must be <SyncML>/);
  });
});

describe('decodeMessage and encodeMessage', () => {
  it.each([
    ['application/vnd.syncml.dm+xml', 'xml'],
    ['application/vnd.syncml+xml', 'xml'],
    ['Application/VND.SyncML.DM+XML; charset=UTF-8', 'xml'],
    ['application/vnd.syncml.dm+wbxml', 'wbxml'],
    [' application/vnd.syncml+wbxml ;foo=bar', 'wbxml'],
  ])('%s is %s', (contentType, encoding) => {
    expect(encodingOf(contentType)).toBe(encoding);
  });

  it.each(['text/xml', 'application/json', '', 'application/vnd.syncml.dm+xml2', 'constructor', '__proto__'])('refuses the media type %j', (contentType) => {
    const error = validationError(() => decodeMessage(new TextEncoder().encode(sampleText('p1')), contentType));
    expect(error).toMatchObject({ code: 'VALIDATION', message: expect.stringMatching(/^unsupported media type/) });
    expect(() => encodeMessage(sample('p1'), contentType)).toThrow(/^unsupported media type/);
  });

  it.each(SAMPLE_NAMES)('round-trips %s through both encodings', (name) => {
    const message = sample(name);
    const xml = encodeMessage(message, XML);
    expect(new TextDecoder().decode(xml)).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?><SyncML xmlns="SYNCML:SYNCML1.2">/);
    expect(decodeMessage(xml, 'application/vnd.syncml+xml')).toEqual(message);
    const wbxml = encodeMessage(message, WBXML);
    expect(Array.from(wbxml.subarray(0, 4))).toEqual([0x02, 0xa4, 0x01, 0x6a]);
    expect(decodeMessage(wbxml, 'application/vnd.syncml+wbxml')).toEqual(message);
  });

  it('passes limits to the decoder', () => {
    const bytes = new TextEncoder().encode(sampleText('p1'));
    expect(() => decodeMessage(bytes, XML, { maxBytes: 10, maxDepth: 32, maxElements: 100 })).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
    const wbxml = encodeMessage(sample('p1'), WBXML);
    expect(() => decodeMessage(wbxml, WBXML, { maxBytes: 10, maxDepth: 32, maxElements: 100 })).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
  });

  it('refuses to put binary Item data into XML but carries it in WBXML', () => {
    const message: SyncMessage = {
      header: sample('p4').header,
      commands: [{ kind: 'Replace', cmdId: 1, items: [{ target: './FUMO/fw1/Update/PkgData', data: new Uint8Array([0, 1, 0xff]) }] }],
      final: true,
    };
    expect(() => encodeMessage(message, XML)).toThrow(expect.objectContaining({ code: 'VALIDATION', message: expect.stringMatching(/binary data/) }));
    expect(decodeMessage(encodeMessage(message, WBXML), WBXML)).toEqual(message);
  });
});

// --- Property: random valid typed messages survive the XML (and WBXML) round trip. -------

const xmlChar = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code)) },
  { weight: 2, arbitrary: fc.constantFrom('&', '<', '>', '"', ']]>', ' ', '\t', '\n', '\r') },
  { weight: 1, arbitrary: fc.integer({ min: 0xa0, max: 0xd7ff }).map((code) => String.fromCodePoint(code)) },
  { weight: 1, arbitrary: fc.integer({ min: 0x10000, max: 0x10ffff }).map((code) => String.fromCodePoint(code)) },
);
/** Any text XML can carry: Item data, kept exactly. */
const text = fc.array(xmlChar, { maxLength: 24 }).map((chars) => chars.join(''));
/** Tokens (codes, URIs, IDs, MetInf values) carry no layout whitespace at their ends. */
const token = text.filter((value) => value.trim() === value);
const count = fc.nat({ max: 2 ** 31 });

const meta: fc.Arbitrary<Meta> = fc.record(
  { type: token, format: token, mark: token, size: count, nextNonce: token, maxMsgSize: count, maxObjSize: count },
  { requiredKeys: [] },
);
const item: fc.Arbitrary<Item> = fc
  .record(
    { target: token, source: token, sourceName: token, meta, data: text, moreData: fc.constant(true) },
    { requiredKeys: [] },
  )
  .map(({ sourceName, ...rest }) => (rest.source === undefined || sourceName === undefined ? rest : { ...rest, sourceName }));
const items = fc.array(item, { maxLength: 3 });
const cred = fc.record({ meta, data: token });

const header: fc.Arbitrary<SyncHdr> = fc
  .record(
    {
      verDTD: token,
      verProto: token,
      sessionId: token,
      msgId: count,
      target: token,
      source: token,
      sourceName: token,
      respUri: token,
      noResp: fc.constant(true),
      cred,
      meta,
    },
    { requiredKeys: ['verDTD', 'verProto', 'sessionId', 'msgId', 'target', 'source'] },
  );

const leafCommand: fc.Arbitrary<Command> = fc.oneof(
  fc.record(
    {
      kind: fc.constant('Status' as const),
      cmdId: count,
      msgRef: count,
      cmdRef: count,
      cmd: token,
      targetRefs: fc.array(token, { maxLength: 2 }),
      sourceRefs: fc.array(token, { maxLength: 2 }),
      cred,
      chal: fc.record({ meta }),
      data: token,
      items,
    },
    { requiredKeys: ['kind', 'cmdId', 'msgRef', 'cmdRef', 'cmd', 'targetRefs', 'sourceRefs', 'data', 'items'] },
  ),
  fc.record(
    { kind: fc.constant('Results' as const), cmdId: count, msgRef: count, cmdRef: count, meta, targetRef: token, sourceRef: token, items },
    { requiredKeys: ['kind', 'cmdId', 'cmdRef', 'items'] },
  ),
  fc.record({ kind: fc.constant('Alert' as const), cmdId: count, data: token, correlator: token, items }, { requiredKeys: ['kind', 'cmdId', 'data', 'items'] }),
  fc.record(
    { kind: fc.constantFrom('Add' as const, 'Replace' as const, 'Delete' as const, 'Copy' as const, 'Get' as const), cmdId: count, noResp: fc.constant(true), meta, items },
    { requiredKeys: ['kind', 'cmdId', 'items'] },
  ),
  fc.record(
    { kind: fc.constant('Exec' as const), cmdId: count, noResp: fc.constant(true), meta, correlator: token, items },
    { requiredKeys: ['kind', 'cmdId', 'items'] },
  ),
);

const { command } = fc.letrec<{ command: Command; container: Command }>((tie) => ({
  command: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leafCommand, tie('container')),
  container: fc.record(
    {
      kind: fc.constantFrom('Atomic' as const, 'Sequence' as const),
      cmdId: count,
      noResp: fc.constant(true),
      meta,
      commands: fc.array(tie('command'), { maxLength: 3 }),
    },
    { requiredKeys: ['kind', 'cmdId', 'commands'] },
  ),
}));

const message: fc.Arbitrary<SyncMessage> = fc.record({ header, commands: fc.array(command, { maxLength: 4 }), final: fc.boolean() });

describe('round-trip properties', () => {
  it('random valid messages survive fromMessage -> serializeXml -> parseXml -> toMessage unchanged', () => {
    fc.assert(
      fc.property(message, (value) => {
        expect(toMessage(parseXml(serializeXml(fromMessage(value))))).toEqual(value);
      }),
      { numRuns: 300 },
    );
  });

  it('encodeMessage writes XML straight from a random valid message exactly as the tree is serialized, and it decodes back', () => {
    fc.assert(
      fc.property(message, (value) => {
        const bytes = encodeMessage(value, XML);
        expect(new TextDecoder().decode(bytes)).toBe(serializeXml(fromMessage(value)));
        expect(decodeMessage(bytes, XML)).toEqual(value);
      }),
      { numRuns: 300 },
    );
  });

  it('encodeMessage refuses a message it cannot write with the same error as fromMessage, and the next message is written whole', () => {
    const good = sample('p2');
    const bad: SyncMessage = { ...good, commands: [...good.commands, { kind: 'Get', cmdId: -1, items: [] }] };
    for (const contentType of [XML, WBXML]) {
      expect(() => encodeMessage(bad, contentType)).toThrow(expect.objectContaining({ code: 'VALIDATION', message: 'CmdID must be a non-negative integer, not -1' }));
      expect(decodeMessage(encodeMessage(good, contentType), contentType)).toEqual(good);
    }
    expect(() => fromMessage(bad)).toThrow('CmdID must be a non-negative integer, not -1');
  });

  it('random valid messages survive encodeMessage -> decodeMessage in WBXML', () => {
    fc.assert(
      fc.property(message, (value) => {
        expect(decodeMessage(encodeMessage(value, WBXML), WBXML)).toEqual(value);
      }),
      { numRuns: 200 },
    );
  });

  it('decodeMessage throws nothing but AppErrors on mutated samples, and what it accepts round-trips', () => {
    const texts = SAMPLE_NAMES.map(sampleText);
    // Deleting and duplicating slices removes, repeats and reorders required parts.
    const edit = fc.record({ duplicate: fc.boolean(), at: fc.nat(), length: fc.integer({ min: 1, max: 120 }) });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: texts.length - 1 }), fc.array(edit, { minLength: 1, maxLength: 3 }), (index, edits) => {
        let text = texts[index] ?? '';
        for (const { duplicate, at: rawAt, length } of edits) {
          const at = rawAt % (text.length + 1);
          text = duplicate ? text.slice(0, at + length) + text.slice(at) : text.slice(0, at) + text.slice(at + length);
        }
        let decoded: SyncMessage;
        try {
          decoded = decodeMessage(new TextEncoder().encode(text), XML);
        } catch (error) {
          expect(error).toBeInstanceOf(AppError);
          expect(['VALIDATION', 'TOO_LARGE']).toContain((error as AppError).code);
          return;
        }
        expect(decodeMessage(encodeMessage(decoded, XML), XML)).toEqual(decoded);
      }),
      { numRuns: 500 },
    );
  });

  it('toMessage throws nothing but VALIDATION AppErrors on random trees a parser could produce', () => {
    const names = ['SyncHdr', 'SyncBody', 'Status', 'Alert', 'Exec', 'Atomic', 'Item', 'Meta', 'Data', 'CmdID', 'MsgRef', 'CmdRef', 'Cmd', 'Target', 'Source', 'LocURI', 'Final', 'Type', 'Size', 'Correlator', 'Cred', 'Chal', 'MsgID', 'VerDTD'];
    const { tree } = fc.letrec<{ tree: SyncElement }>((tie) => ({
      tree: fc.record({
        name: fc.constantFrom(...names),
        page: fc.constantFrom('syncml' as const, 'metinf' as const),
        children: fc.array(fc.oneof({ depthSize: 'small' }, fc.constantFrom('1', 'x', ''), fc.uint8Array({ maxLength: 3 }), tie('tree')), { maxLength: 5 }),
      }),
    }));
    fc.assert(
      fc.property(fc.array(tree, { maxLength: 3 }), (children) => {
        try {
          toMessage(element('SyncML', children));
        } catch (error) {
          expect(error).toMatchObject({ code: 'VALIDATION' });
          expect(error).toBeInstanceOf(AppError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
