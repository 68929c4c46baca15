// An independent OMA DM 1.2 client for tests, written from shared/PROTOCOL.md and the
// sample messages, never from the server: it imports nothing from src/. It writes SyncML
// as XML text, reads replies with its own small tag walker, speaks WBXML through Debian's
// xml2wbxml/wbxml2xml (so that path does not share our codec either), computes digests
// with node:crypto, and keeps a small in-memory DM tree that answers the server's Get,
// Replace and Exec. If it agreed with the server only because both share a bug, these
// tests would prove nothing; keep it that way.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// ---------------------------------------------------------------------------------------
// Digests (PROTOCOL.md "Authentication"; H = raw MD5, B64 = base64 with padding)

const md5 = (bytes: Uint8Array | string): Buffer => createHash('md5').update(bytes).digest();
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** syncml:auth-basic Cred Data: B64(name:password). */
export function basicCred(name: string, password: string): string {
  return Buffer.from(`${name}:${password}`, 'utf8').toString('base64');
}

/** syncml:auth-md5 Cred Data: B64(H( B64(H(name:password)) + ":" + nonce )), nonce raw bytes. */
export function md5Cred(name: string, password: string, nonce: Uint8Array): string {
  const key = b64(md5(`${name}:${password}`));
  return b64(md5(Buffer.concat([Buffer.from(`${key}:`, 'utf8'), nonce])));
}

/** H( B64(H(name:password)) + ":" + nonce + ":" + B64(H(body)) ), raw (HMAC and Package 0). */
export function macBytes(name: string, password: string, nonce: Uint8Array, body: Uint8Array): Buffer {
  const key = b64(md5(`${name}:${password}`));
  return md5(Buffer.concat([Buffer.from(`${key}:`, 'utf8'), nonce, Buffer.from(`:${b64(md5(body))}`, 'utf8')]));
}

// ---------------------------------------------------------------------------------------
// Package 0 (big-endian): digest(16) | version(10) ui(2) initiator(1) zero(27) session(16) idLen(8) | server id | vendor

export interface Package0 {
  digest: Buffer;
  version: number;
  uiMode: number;
  initiator: number;
  futureBits: number;
  sessionId: number;
  serverId: string;
  vendor: Buffer;
  /** Header + server id + vendor bytes: what the digest covers. */
  trigger: Buffer;
}

export function parsePackage0(bytes: Uint8Array): Package0 {
  const b = Buffer.from(bytes);
  if (b.length < 24) throw new Error(`Package 0 of ${b.length} bytes is shorter than digest + header`);
  const idLength = b[23] ?? 0;
  if (24 + idLength > b.length) throw new Error('Package 0 server id runs past the end');
  const h0 = b[16] ?? 0;
  const h1 = b[17] ?? 0;
  return {
    digest: b.subarray(0, 16),
    version: (h0 << 2) | (h1 >> 6),
    uiMode: (h1 >> 4) & 0b11,
    initiator: (h1 >> 3) & 1,
    // 3 low bits of byte 17, bytes 18..20: 27 bits that must be zero.
    futureBits: ((h1 & 0b111) << 24) | ((b[18] ?? 0) << 16) | ((b[19] ?? 0) << 8) | (b[20] ?? 0),
    sessionId: ((b[21] ?? 0) << 8) | (b[22] ?? 0),
    serverId: b.subarray(24, 24 + idLength).toString('ascii'),
    vendor: b.subarray(24 + idLength),
    trigger: b.subarray(16),
  };
}

export function package0DigestOk(p: Package0, serverPassword: string, nonce: Uint8Array): boolean {
  return timingSafeEqual(p.digest, macBytes(p.serverId, serverPassword, nonce, p.trigger));
}

// ---------------------------------------------------------------------------------------
// A small, tolerant XML reader: elements, attributes, text, CDATA, entities. Good for
// SyncML replies (ours and wbxml2xml's); not a general XML parser.

export interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  /** Character data directly inside this element (text and CDATA, entities decoded). */
  text: string;
}

const TOKENS = /<!\[CDATA\[([\s\S]*?)\]\]>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>|<\/\s*([^\s>]+)\s*>|<([^\s/>!?]+)([^>]*?)(\/?)>|([^<]+)/gy;
const ATTRS = /([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_all, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(parseInt(ref.slice(1), 10));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[ref] ?? '';
  });
}

export function parseXml(xml: string): XmlNode {
  const stack: XmlNode[] = [];
  let root: XmlNode | undefined;
  TOKENS.lastIndex = 0;
  while (TOKENS.lastIndex < xml.length) {
    const at = TOKENS.lastIndex;
    const m = TOKENS.exec(xml);
    if (!m) throw new Error(`not XML at offset ${at}: ${JSON.stringify(xml.slice(at, at + 40))}`);
    const [, cdata, closing, opening, attrText = '', selfClosing, text] = m;
    const parent = stack.at(-1);
    if (cdata !== undefined || text !== undefined) {
      if (parent) parent.text += cdata ?? decodeEntities(text ?? '');
      else if ((text ?? cdata ?? '').trim() !== '') throw new Error('text outside the root element');
    } else if (opening !== undefined) {
      const attrs: Record<string, string> = {};
      for (const a of attrText.matchAll(ATTRS)) attrs[a[1] ?? ''] = decodeEntities(a[2] ?? a[3] ?? '');
      const node: XmlNode = { name: opening, attrs, children: [], text: '' };
      if (parent) parent.children.push(node);
      else if (root) throw new Error('two root elements');
      else root = node;
      if (selfClosing !== '/') stack.push(node);
    } else if (closing !== undefined) {
      const open = stack.pop();
      if (open?.name !== closing) throw new Error(`</${closing}> closes <${open?.name ?? 'nothing'}>`);
    }
  }
  if (!root || stack.length > 0) throw new Error('incomplete XML document');
  return root;
}

export const child = (node: XmlNode | undefined, name: string): XmlNode | undefined => node?.children.find((c) => c.name === name);
export const childrenNamed = (node: XmlNode | undefined, name: string): XmlNode[] => node?.children.filter((c) => c.name === name) ?? [];
/** Text of a direct child, trimmed (scalar values); undefined if the child is absent. */
export const textOf = (node: XmlNode | undefined, name: string): string | undefined => child(node, name)?.text.trim();
const locUri = (node: XmlNode | undefined): string | undefined => textOf(node, 'LocURI');

/** MetInf fields anywhere below a Meta (some encoders wrap them in <MetInf>). */
function metaFields(meta: XmlNode | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (n: XmlNode) => {
    for (const c of n.children) {
      if (c.children.length > 0) walk(c);
      else out[c.name] ??= c.text.trim();
    }
  };
  if (meta) walk(meta);
  return out;
}

// ---------------------------------------------------------------------------------------
// Writing SyncML as text

export function esc(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

const metinf = (name: string, value: string | number) => `<${name} xmlns="syncml:metinf">${esc(String(value))}</${name}>`;
const loc = (name: 'Target' | 'Source', uri: string, locName?: string) =>
  `<${name}><LocURI>${esc(uri)}</LocURI>${locName === undefined ? '' : `<LocName>${esc(locName)}</LocName>`}</${name}>`;

/** A command to write: its CmdID is given when the message is assembled. */
export type CommandXml = (cmdId: number) => string;

export interface StatusSpec {
  /** Numbers, or a string that stands for one (a template's slot in bench/dm.ts). */
  msgRef: number | string;
  cmdRef: number | string;
  cmd: string;
  targetRefs?: string[];
  sourceRefs?: string[];
  chal?: { type: string; nextNonce?: string };
  code: number;
}

export function statusXml(s: StatusSpec): CommandXml {
  return (cmdId) =>
    `<Status><CmdID>${cmdId}</CmdID><MsgRef>${s.msgRef}</MsgRef><CmdRef>${s.cmdRef}</CmdRef><Cmd>${esc(s.cmd)}</Cmd>` +
    (s.targetRefs ?? []).map((r) => `<TargetRef>${esc(r)}</TargetRef>`).join('') +
    (s.sourceRefs ?? []).map((r) => `<SourceRef>${esc(r)}</SourceRef>`).join('') +
    (s.chal ? `<Chal><Meta>${metinf('Type', s.chal.type)}${metinf('Format', 'b64')}${s.chal.nextNonce ? metinf('NextNonce', s.chal.nextNonce) : ''}</Meta></Chal>` : '') +
    `<Data>${s.code}</Data></Status>`;
}

export function alertXml(code: string, items: Array<{ target?: string; source?: string; type?: string; format?: string; mark?: string; data?: string }> = [], correlator?: string): CommandXml {
  return (cmdId) =>
    `<Alert><CmdID>${cmdId}</CmdID><Data>${esc(code)}</Data>${correlator === undefined ? '' : `<Correlator>${esc(correlator)}</Correlator>`}` +
    items
      .map(
        (i) =>
          `<Item>${i.target ? loc('Target', i.target) : ''}${i.source ? loc('Source', i.source) : ''}` +
          (i.type || i.format || i.mark ? `<Meta>${i.type ? metinf('Type', i.type) : ''}${i.format ? metinf('Format', i.format) : ''}${i.mark ? metinf('Mark', i.mark) : ''}</Meta>` : '') +
          `${i.data === undefined ? '' : `<Data>${esc(i.data)}</Data>`}</Item>`,
      )
      .join('') +
    `</Alert>`;
}

export function replaceXml(items: Array<{ uri: string; data: string }>): CommandXml {
  return (cmdId) =>
    `<Replace><CmdID>${cmdId}</CmdID><Meta>${metinf('Format', 'chr')}${metinf('Type', 'text/plain')}</Meta>` +
    items.map((i) => `<Item>${loc('Source', i.uri)}<Data>${esc(i.data)}</Data></Item>`).join('') +
    `</Replace>`;
}

export function resultsXml(msgRef: number | string, cmdRef: number | string, items: Array<{ uri: string; data: string }>): CommandXml {
  return (cmdId) =>
    `<Results><CmdID>${cmdId}</CmdID><MsgRef>${msgRef}</MsgRef><CmdRef>${cmdRef}</CmdRef>` +
    items.map((i) => `<Item>${loc('Source', i.uri)}<Meta>${metinf('Format', 'chr')}${metinf('Type', 'text/plain')}</Meta><Data>${esc(i.data)}</Data></Item>`).join('') +
    `</Results>`;
}

export interface HeaderSpec {
  verDTD?: string;
  verProto?: string;
  /** Leave out the SessionID element (a broken client). */
  sessionId: string | null;
  msgId: number | string;
  target: string;
  source: string;
  locName?: string;
  cred?: { type: string; data: string };
  maxMsgSize?: number;
  /** Declared in SyncHdr Meta: the largest object this client takes in chunks. */
  maxObjSize?: number;
}

export function messageXml(h: HeaderSpec, commands: CommandXml[], final = true): string {
  const header =
    `<SyncHdr><VerDTD>${esc(h.verDTD ?? '1.2')}</VerDTD><VerProto>${esc(h.verProto ?? 'DM/1.2')}</VerProto>` +
    (h.sessionId === null ? '' : `<SessionID>${esc(h.sessionId)}</SessionID>`) +
    `<MsgID>${esc(String(h.msgId))}</MsgID>${loc('Target', h.target)}${loc('Source', h.source, h.locName)}` +
    (h.cred ? `<Cred><Meta>${metinf('Type', h.cred.type)}${metinf('Format', 'b64')}</Meta><Data>${esc(h.cred.data)}</Data></Cred>` : '') +
    (h.maxMsgSize || h.maxObjSize ? `<Meta>${h.maxMsgSize ? metinf('MaxMsgSize', h.maxMsgSize) : ''}${h.maxObjSize ? metinf('MaxObjSize', h.maxObjSize) : ''}</Meta>` : '') +
    `</SyncHdr>`;
  const body = commands.map((c, i) => c(i + 1)).join('');
  return `<?xml version="1.0" encoding="UTF-8"?><SyncML xmlns="SYNCML:SYNCML1.2">${header}<SyncBody>${body}${final ? '<Final/>' : ''}</SyncBody></SyncML>`;
}

// ---------------------------------------------------------------------------------------
// Reading a reply

export interface ChalInfo {
  type?: string;
  format?: string;
  nextNonce?: string;
}

export interface StatusInfo {
  cmdId: number;
  msgRef: number;
  cmdRef: number;
  cmd: string;
  targetRefs: string[];
  sourceRefs: string[];
  code: number;
  chal?: ChalInfo;
}

export interface ReplyInfo {
  root: XmlNode;
  header: { verDTD?: string; verProto?: string; sessionId?: string; msgId: number; target?: string; source?: string; respUri?: string; cred?: { type?: string; data: string }; maxMsgSize?: number };
  /** SyncBody children in order, Final left out. */
  commands: XmlNode[];
  statuses: StatusInfo[];
  /** The Status for our SyncHdr (CmdRef 0). */
  headerStatus?: StatusInfo;
  final: boolean;
}

function readStatus(n: XmlNode): StatusInfo {
  const chal = child(n, 'Chal');
  const fields = metaFields(child(chal, 'Meta'));
  return {
    cmdId: Number(textOf(n, 'CmdID')),
    msgRef: Number(textOf(n, 'MsgRef')),
    cmdRef: Number(textOf(n, 'CmdRef')),
    cmd: textOf(n, 'Cmd') ?? '',
    targetRefs: childrenNamed(n, 'TargetRef').map((r) => r.text.trim()),
    sourceRefs: childrenNamed(n, 'SourceRef').map((r) => r.text.trim()),
    code: Number(textOf(n, 'Data')),
    ...(chal ? { chal: { ...(fields.Type ? { type: fields.Type } : {}), ...(fields.Format ? { format: fields.Format } : {}), ...(fields.NextNonce ? { nextNonce: fields.NextNonce } : {}) } } : {}),
  };
}

export function readReply(xml: string): ReplyInfo {
  const root = parseXml(xml);
  if (root.name !== 'SyncML') throw new Error(`reply root is <${root.name}>`);
  const hdr = child(root, 'SyncHdr');
  const body = child(root, 'SyncBody');
  if (!hdr || !body) throw new Error('reply lacks SyncHdr or SyncBody');
  const credNode = child(hdr, 'Cred');
  const credMeta = metaFields(child(credNode, 'Meta'));
  const hdrMeta = metaFields(child(hdr, 'Meta'));
  const commands = body.children.filter((c) => c.name !== 'Final');
  const statuses = commands.filter((c) => c.name === 'Status').map(readStatus);
  const header: ReplyInfo['header'] = { msgId: Number(textOf(hdr, 'MsgID')) };
  const put = <K extends keyof ReplyInfo['header']>(k: K, v: ReplyInfo['header'][K] | undefined) => {
    if (v !== undefined) header[k] = v;
  };
  put('verDTD', textOf(hdr, 'VerDTD'));
  put('verProto', textOf(hdr, 'VerProto'));
  put('sessionId', textOf(hdr, 'SessionID'));
  put('target', locUri(child(hdr, 'Target')));
  put('source', locUri(child(hdr, 'Source')));
  put('respUri', textOf(hdr, 'RespURI'));
  if (credNode) header.cred = { ...(credMeta.Type ? { type: credMeta.Type } : {}), data: textOf(credNode, 'Data') ?? '' };
  if (hdrMeta.MaxMsgSize) header.maxMsgSize = Number(hdrMeta.MaxMsgSize);
  const headerStatus = statuses.find((s) => s.cmdRef === 0);
  return { root, header, commands, statuses, ...(headerStatus ? { headerStatus } : {}), final: child(body, 'Final') !== undefined };
}

// ---------------------------------------------------------------------------------------
// WBXML through libwbxml's command-line tools (Debian libwbxml2-utils)

function withTemp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'dm-client-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function xmlToWbxml(xml: string): Buffer {
  return withTemp((dir) => {
    writeFileSync(join(dir, 'in.xml'), xml);
    execFileSync('xml2wbxml', ['-o', join(dir, 'out.wbxml'), join(dir, 'in.xml')], { stdio: ['ignore', 'ignore', 'pipe'] });
    return readFileSync(join(dir, 'out.wbxml'));
  });
}

export function wbxmlToXml(bytes: Uint8Array): string {
  return withTemp((dir) => {
    writeFileSync(join(dir, 'in.wbxml'), bytes);
    execFileSync('wbxml2xml', ['-m', '0', '-o', join(dir, 'out.xml'), join(dir, 'in.wbxml')], { stdio: ['ignore', 'ignore', 'pipe'] });
    return readFileSync(join(dir, 'out.xml'), 'utf8');
  });
}

// ---------------------------------------------------------------------------------------
// The client

export const XML_TYPE = 'application/vnd.syncml.dm+xml';
export const WBXML_TYPE = 'application/vnd.syncml.dm+wbxml';
const AUTH_MD5 = 'syncml:auth-md5';
const AUTH_BASIC = 'syncml:auth-basic';
const AUTH_MAC = 'syncml:auth-mac';

/** The x-syncml-hmac header value for a body (PROTOCOL.md "HMAC"). */
export function hmacHeaderValue(name: string, password: string, nonce: Uint8Array, body: Uint8Array): string {
  return `algorithm=MD5, username="${name}", mac=${b64(macBytes(name, password, nonce, body))}`;
}

export interface DmClientOptions {
  /** The server's DM URL (POST /dm). */
  url: string;
  devId: string;
  username: string;
  password: string;
  /** hmac: no Cred; every message carries x-syncml-hmac over its bytes once a nonce is known. */
  authType?: 'md5' | 'basic' | 'hmac';
  encoding?: 'xml' | 'wbxml';
  /** Sent as is; defaults to the DM type of the encoding. */
  contentType?: string;
  /** Declared in SyncHdr Meta: the largest reply this client accepts. */
  maxMsgSize?: number;
  /** Initial DM tree (URI -> value); DevInfo defaults are filled in. */
  tree?: Record<string, string>;
  /** Status for a server Alert by its code (a user's answer to 1100-1104); default 200. */
  alertStatus?: (code: string) => number;
  /** Status for an Exec on a URI; default 202 under ./FUMO, else 200. */
  execStatus?: (uri: string) => number;
  /**
   * false: a client that ignores RespURI and always posts to `url`. Such a client must prove
   * every message, so it sends a Cred on each (the session is matched by DevId + SessionID).
   */
  followRespUri?: boolean;
  /** Server credentials this client checks the server's Cred against (server authentication). */
  serverId?: string;
  serverPassword?: string;
}

export interface Exchange {
  request: { url: string; contentType: string; msgId: number; xml: string; body: Uint8Array; headers: Record<string, string> };
  response: { httpStatus: number; contentType: string; body: Uint8Array; retryAfter?: string | null; xml?: string; reply?: ReplyInfo };
}

export interface SessionOptions {
  /** 1201 client-initiated (default), 1200 after a Package 0. */
  alert?: '1200' | '1201';
  sessionId?: string;
  /** 'auto': Cred when a nonce is known (md5) or always (basic); 'none': start without. */
  cred?: 'auto' | 'none';
  /** Extra Package 1 commands (e.g. a Generic Alert). */
  extra?: CommandXml[];
  maxMessages?: number;
}

export interface SessionOutcome {
  /** completed: the server's last message had only Statuses and Final. */
  end: 'completed' | 'auth-failed' | 'refused' | 'http-error' | 'too-long';
  authenticated: boolean;
  exchanges: Exchange[];
}

/** The server's message that ends a session: Final, and nothing but Statuses (and Results). */
export function isClosing(reply: ReplyInfo): boolean {
  return reply.final && reply.commands.every((c) => c.name === 'Status' || c.name === 'Results');
}

interface Pending {
  label: string;
  xml: CommandXml;
}

export class DmTestClient {
  readonly tree: Map<string, string>;
  readonly history: Exchange[] = [];
  /** The nonce the server issued last (raw bytes): our next md5 Cred uses it. */
  clientNonce: Uint8Array | undefined;
  /** The nonce this client issued to the server last: the server's Cred and Package 0 use it. */
  serverNonce: Uint8Array | undefined;
  authType: 'md5' | 'basic' | 'hmac';
  sessionId = '';
  nextMsgId = 1;
  /** Where the next message goes: the server URL, then the last RespURI. */
  currentUrl: string;
  private lastRequest: Exchange['request'] | undefined;
  private readonly contentType: string;

  constructor(readonly options: DmClientOptions) {
    this.authType = options.authType ?? 'md5';
    this.contentType = options.contentType ?? (options.encoding === 'wbxml' ? WBXML_TYPE : XML_TYPE);
    this.currentUrl = options.url;
    this.tree = new Map(
      Object.entries({
        './DevInfo/DevId': options.devId,
        './DevInfo/Man': 'Acme',
        './DevInfo/Mod': 'X100',
        './DevInfo/DmV': '1.2',
        './DevInfo/Lang': 'en-US',
        ...options.tree,
      }),
    );
  }

  get wbxml(): boolean {
    return this.contentType.toLowerCase().includes('wbxml');
  }

  /** Starts a new session: new SessionID, MsgID 1, back to the server's URL. */
  startSession(sessionId?: string): void {
    let next = sessionId ?? this.sessionId;
    while (next === this.sessionId && sessionId === undefined) next = randomInt(1, 0x10000).toString(16).toUpperCase();
    this.sessionId = next;
    this.nextMsgId = 1;
    this.currentUrl = this.options.url;
  }

  credential(): { type: string; data: string } | undefined {
    const { username, password } = this.options;
    if (this.authType === 'hmac') return undefined;
    if (this.authType === 'basic') return { type: AUTH_BASIC, data: basicCred(username, password) };
    return this.clientNonce ? { type: AUTH_MD5, data: md5Cred(username, password, this.clientNonce) } : undefined;
  }

  package1(alert: '1200' | '1201' = '1201', extra: CommandXml[] = []): Pending[] {
    const devInfo = ['DevId', 'Man', 'Mod', 'DmV', 'Lang'].map((n) => `./DevInfo/${n}`).filter((u) => this.tree.has(u));
    return [
      { label: 'Alert', xml: alertXml(alert) },
      { label: 'Replace', xml: replaceXml(devInfo.map((uri) => ({ uri, data: this.tree.get(uri) ?? '' }))) },
      ...extra.map((xml) => ({ label: 'extra', xml })),
    ];
  }

  /** The XML of the next message (takes the next MsgID). */
  compose(commands: CommandXml[], options: { cred?: { type: string; data: string } | undefined; final?: boolean; header?: Partial<HeaderSpec> } = {}): { msgId: number; xml: string } {
    const msgId = this.nextMsgId++;
    const xml = messageXml(
      {
        sessionId: this.sessionId,
        msgId,
        target: this.currentUrl,
        source: this.options.devId,
        locName: this.options.username,
        ...(options.cred ? { cred: options.cred } : {}),
        ...(this.options.maxMsgSize ? { maxMsgSize: this.options.maxMsgSize } : {}),
        ...options.header,
      },
      commands,
      options.final ?? true,
    );
    return { msgId, xml };
  }

  /** POSTs bytes as they are, to the current URL unless told; no parsing. */
  async post(body: Uint8Array | string, contentType = this.contentType, url = this.currentUrl, headers: Record<string, string> = {}): Promise<{ status: number; contentType: string; body: Uint8Array; retryAfter: string | null }> {
    const response = await fetch(url, { method: 'POST', headers: { ...headers, 'content-type': contentType }, body: typeof body === 'string' ? body : Buffer.from(body) });
    return { status: response.status, contentType: response.headers.get('content-type') ?? '', body: new Uint8Array(await response.arrayBuffer()), retryAfter: response.headers.get('retry-after') };
  }

  /** The x-syncml-hmac header for these bytes, for an HMAC client that knows a nonce. */
  hmacHeaders(body: Uint8Array): Record<string, string> {
    if (this.authType !== 'hmac' || !this.clientNonce) return {};
    return { 'x-syncml-hmac': hmacHeaderValue(this.options.username, this.options.password, this.clientNonce, body) };
  }

  /** Sends one message (XML text, converted to WBXML if this client speaks it) and reads the reply. */
  async send(message: { msgId: number; xml: string }): Promise<Exchange> {
    const body = this.wbxml ? xmlToWbxml(message.xml) : Buffer.from(message.xml, 'utf8');
    return this.exchange({ url: this.currentUrl, contentType: this.contentType, msgId: message.msgId, xml: message.xml, body, headers: this.hmacHeaders(body) });
  }

  /** Sends the last message again, byte for byte (as after a lost reply). */
  async resendLast(): Promise<Exchange> {
    if (!this.lastRequest) throw new Error('nothing sent yet');
    return this.exchange(this.lastRequest);
  }

  private async exchange(request: Exchange['request']): Promise<Exchange> {
    this.lastRequest = request;
    const raw = await this.post(request.body, request.contentType, request.url, request.headers);
    const response: Exchange['response'] = { httpStatus: raw.status, contentType: raw.contentType, body: raw.body, retryAfter: raw.retryAfter };
    if (raw.status === 200 && /syncml/i.test(raw.contentType)) {
      response.xml = /wbxml/i.test(raw.contentType) ? wbxmlToXml(raw.body) : Buffer.from(raw.body).toString('utf8');
      response.reply = readReply(response.xml);
      // Later messages of the session go to the RespURI the server handed out.
      if (response.reply.header.respUri && this.options.followRespUri !== false) this.currentUrl = response.reply.header.respUri;
    }
    const exchange = { request, response };
    this.history.push(exchange);
    return exchange;
  }

  /** Runs a whole session: Package 1, the auth challenge if any, then answers until the server ends it. */
  async session(options: SessionOptions = {}): Promise<SessionOutcome> {
    this.startSession(options.sessionId);
    const exchanges: Exchange[] = [];
    const pkg1 = this.package1(options.alert ?? '1201', options.extra);
    let toSend: Pending[] = pkg1;
    let cred = options.cred === 'none' ? undefined : this.credential();
    let authTries = 0;
    let authenticated = false;
    let previous: ReplyInfo | undefined;
    const limit = options.maxMessages ?? 100;

    for (let n = 0; n < limit; n++) {
      const statusForPrevious = previous ? [this.headerStatusFor(previous)] : [];
      const message = this.compose([...statusForPrevious, ...toSend.map((p) => p.xml)], { cred });
      const ex = await this.send(message);
      exchanges.push(ex);
      const reply = ex.response.reply;
      if (!reply) return { end: 'http-error', authenticated, exchanges };
      const hs = reply.headerStatus;
      if (!hs) return { end: 'refused', authenticated, exchanges };
      if (hs.chal) this.takeChallenge(hs.chal);

      if (hs.code === 401 || hs.code === 407) {
        // Resend only what the server refused with 401/407 (as real clients do); without a
        // Chal, or with nothing refused, the client gives up.
        authTries += 1;
        const offset = statusForPrevious.length;
        const refused = new Set(reply.statuses.filter((s) => s.cmdRef !== 0 && s.msgRef === message.msgId && (s.code === 401 || s.code === 407)).map((s) => s.cmdRef));
        toSend = toSend.filter((_p, i) => refused.has(i + 1 + offset));
        cred = this.credential();
        previous = reply;
        const canProve = this.authType === 'hmac' ? this.clientNonce !== undefined : cred !== undefined;
        if (!hs.chal || toSend.length === 0 || authTries > 2 || !canProve) return { end: 'auth-failed', authenticated, exchanges };
        continue;
      }
      if (hs.code !== 200 && hs.code !== 212) return { end: 'refused', authenticated, exchanges };
      authenticated = true;
      // 200 = this message only: the next one needs a Cred again (with the new nonce). A
      // client that ignores RespURI proves every message with a Cred.
      cred = (hs.code === 200 && hs.chal) || this.options.followRespUri === false ? this.credential() : undefined;

      if (isClosing(reply)) return { end: 'completed', authenticated, exchanges };
      toSend = this.answer(reply);
      // Not Final: the server's package continues; ask for the next message.
      if (!reply.final) toSend.push({ label: 'Alert 1222', xml: alertXml('1222', [{ target: this.options.url, source: this.options.devId }]) });
      previous = reply;
    }
    return { end: 'too-long', authenticated, exchanges };
  }

  /**
   * The commands of this client's answer to a reply (for tests that drive a session by
   * hand): Status for its SyncHdr, Statuses and Results for its commands, and Alert 1222
   * when it lacks Final. Applies the server's Replace/Exec to the tree.
   */
  replyTo(reply: ReplyInfo): CommandXml[] {
    const commands = [this.headerStatusFor(reply), ...this.answer(reply).map((p) => p.xml)];
    if (!reply.final) commands.push(alertXml('1222', [{ target: this.options.url, source: this.options.devId }]));
    return commands;
  }

  /** Takes the auth type and nonce of a challenge, as the next message will use them. */
  takeChallenge(chal: ChalInfo): void {
    const type = chal.type?.toLowerCase();
    if (type === AUTH_BASIC) this.authType = 'basic';
    if (type === AUTH_MD5) this.authType = 'md5';
    if (type === AUTH_MAC) this.authType = 'hmac';
    if (chal.nextNonce !== undefined) this.clientNonce = Buffer.from(chal.nextNonce, 'base64');
  }

  /** Status for the server's SyncHdr: 212/401 on the server's Cred when we check it, else 200. */
  private headerStatusFor(reply: ReplyInfo): CommandXml {
    const base = { msgRef: reply.header.msgId, cmdRef: 0, cmd: 'SyncHdr', targetRefs: [reply.header.target ?? ''], sourceRefs: [reply.header.source ?? ''] };
    const { serverPassword, serverId = 'fota' } = this.options;
    if (!reply.header.cred || serverPassword === undefined) return statusXml({ ...base, code: 200 });
    const ok = this.serverNonce !== undefined && this.serverNonce.length > 0 && reply.header.cred.data === md5Cred(serverId, serverPassword, this.serverNonce);
    // Either way a new nonce: for the retry after a 401, for the next session after a 212.
    this.serverNonce = randomBytes(16);
    return statusXml({ ...base, chal: { type: AUTH_MD5, nextNonce: b64(this.serverNonce) }, code: ok ? 212 : 401 });
  }

  /** Statuses (and Results) for the server's commands, from the in-memory tree. */
  private answer(reply: ReplyInfo): Pending[] {
    // The Status for the server's SyncHdr is added by the caller (it goes first).
    const out: Pending[] = [];
    const msgRef = reply.header.msgId;
    const visit = (cmd: XmlNode) => {
      const cmdRef = Number(textOf(cmd, 'CmdID'));
      const items = childrenNamed(cmd, 'Item');
      const targets = items.map((i) => locUri(child(i, 'Target')) ?? '');
      const status = (code: number) => this.wrap(`Status ${cmd.name}`, statusXml({ msgRef, cmdRef, cmd: cmd.name, targetRefs: targets, code }));
      switch (cmd.name) {
        case 'Status':
        case 'Results':
          return;
        case 'Get': {
          const found = targets.map((uri) => ({ uri, data: this.tree.get(uri) }));
          if (found.some((f) => f.data === undefined)) {
            out.push(status(404));
            return;
          }
          out.push(status(200));
          out.push(this.wrap('Results', resultsXml(msgRef, cmdRef, found.map((f) => ({ uri: f.uri, data: f.data ?? '' })))));
          return;
        }
        case 'Add':
        case 'Replace':
          for (const item of items) {
            const uri = locUri(child(item, 'Target'));
            if (uri) this.tree.set(uri, child(item, 'Data')?.text ?? '');
          }
          out.push(status(200));
          return;
        case 'Delete':
          out.push(status(targets.every((t) => this.tree.delete(t)) ? 200 : 404));
          return;
        case 'Exec': {
          const uri = targets[0] ?? '';
          out.push(status(this.options.execStatus?.(uri) ?? (uri.startsWith('./FUMO/') ? 202 : 200)));
          return;
        }
        case 'Alert':
          out.push(status(this.options.alertStatus?.(textOf(cmd, 'Data') ?? '') ?? 200));
          return;
        case 'Atomic':
        case 'Sequence':
          out.push(status(200));
          for (const inner of cmd.children) if (!['CmdID', 'Meta', 'NoResp'].includes(inner.name)) visit(inner);
          return;
        default:
          out.push(status(406));
      }
    };
    for (const cmd of reply.commands) visit(cmd);
    return out;
  }

  private wrap(label: string, xml: CommandXml): Pending {
    return { label, xml };
  }
}
