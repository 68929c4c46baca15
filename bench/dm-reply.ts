// What the DM benchmark reads from a server reply, found with indexOf instead of a parse
// into a tree: the header fields the next message needs, the Status for the device's
// SyncHdr, the server's Gets and which commands the body holds. The test client's reader
// (test/support/dm-test-client.ts readReply) builds a whole tree through a regex
// tokenizer, which cost the load generator more CPU than the server spent on the message.
// The bench checks this reader against readReply on every warm-up reply (sameReading), so
// the two cannot drift apart unnoticed. Like the test client, it imports nothing from src/.
import type { ReplyInfo } from '../test/support/dm-test-client.ts';

export interface LightReply {
  msgId: number;
  target: string;
  source: string;
  respUri?: string;
  /** The Status with CmdRef 0: its code and the NextNonce of its Chal, if any. */
  headerStatus?: { code: number; nextNonce?: string };
  /** The SyncBody's commands by name, in order, Final left out. */
  commands: string[];
  gets: Array<{ cmdId: number; uri: string }>;
  final: boolean;
}

function bad(what: string): never {
  throw new Error(`unreadable reply: ${what}`);
}

const ENTITY = /&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescape(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(ENTITY, (_all, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(parseInt(ref.slice(1), 10));
    return NAMED[ref] ?? '';
  });
}

/** The text of the first `<name>` (or `<name xmlns=...>`) within xml[from, to), trimmed; undefined if none. */
function textIn(xml: string, name: string, from = 0, to = xml.length): string | undefined {
  let at = xml.indexOf(`<${name}`, from);
  while (at !== -1 && at < to) {
    const after = xml.charCodeAt(at + name.length + 1);
    if (after === 0x3e /* > */ || after === 0x20) {
      const open = xml.indexOf('>', at);
      if (xml.charCodeAt(open - 1) === 0x2f /* / */) return '';
      const close = xml.indexOf(`</${name}>`, open);
      if (close === -1 || close > to) bad(`<${name}> is not closed`);
      return unescape(xml.slice(open + 1, close)).trim();
    }
    at = xml.indexOf(`<${name}`, at + 1);
  }
  return undefined;
}

/** The span of the first element `name` in xml[from, to): [start of content, end of content). */
function spanOf(xml: string, name: string, from = 0, to = xml.length): [number, number] | undefined {
  const at = xml.indexOf(`<${name}>`, from);
  if (at === -1 || at >= to) return undefined;
  const close = xml.indexOf(`</${name}>`, at);
  if (close === -1 || close > to) bad(`<${name}> is not closed`);
  return [at + name.length + 2, close];
}

export function readLightReply(xml: string): LightReply {
  const hdr = spanOf(xml, 'SyncHdr') ?? bad('no SyncHdr');
  const body = spanOf(xml, 'SyncBody', hdr[1]) ?? bad('no SyncBody');
  const locUri = (name: string) => {
    const span = spanOf(xml, name, hdr[0], hdr[1]);
    return span ? textIn(xml, 'LocURI', span[0], span[1]) : undefined;
  };
  const respUri = textIn(xml, 'RespURI', hdr[0], hdr[1]);
  const reply: LightReply = {
    msgId: Number(textIn(xml, 'MsgID', hdr[0], hdr[1])),
    target: locUri('Target') ?? '',
    source: locUri('Source') ?? '',
    ...(respUri === undefined ? {} : { respUri }),
    commands: [],
    gets: [],
    final: false,
  };
  // The body's children one after the other: each ends at its own end tag (commands that
  // nest commands of their own name do not exist in SyncML DM).
  let at = body[0];
  while (at < body[1]) {
    if (xml.charCodeAt(at) !== 0x3c /* < */) bad(`text in SyncBody at ${at}`);
    const end = xml.indexOf('>', at);
    if (end === -1 || end > body[1]) bad('SyncBody element not closed');
    if (xml.charCodeAt(end - 1) === 0x2f) {
      const name = xml.slice(at + 1, end - 1).trim();
      if (name === 'Final') reply.final = true;
      else reply.commands.push(name);
      at = end + 1;
      continue;
    }
    const name = xml.slice(at + 1, end);
    const close = xml.indexOf(`</${name}>`, end);
    if (close === -1 || close > body[1]) bad(`<${name}> is not closed`);
    if (name === 'Final') reply.final = true;
    else reply.commands.push(name);
    if (name === 'Status' && textIn(xml, 'CmdRef', end, close) === '0' && reply.headerStatus === undefined) {
      const nextNonce = textIn(xml, 'NextNonce', end, close);
      reply.headerStatus = { code: Number(textIn(xml, 'Data', end, close)), ...(nextNonce === undefined ? {} : { nextNonce }) };
    } else if (name === 'Get') {
      const target = spanOf(xml, 'Target', end, close);
      reply.gets.push({ cmdId: Number(textIn(xml, 'CmdID', end, close)), uri: (target && textIn(xml, 'LocURI', target[0], target[1])) ?? '' });
    }
    at = close + name.length + 3;
  }
  return reply;
}

/**
 * Whether the light reading says what the test client's full reader says (bench warm-up):
 * undefined if so, else what differs.
 */
export function sameReading(light: LightReply, full: ReplyInfo): string | undefined {
  const gets = full.commands
    .filter((c) => c.name === 'Get')
    .map((g) => ({ cmdId: Number(g.children.find((c) => c.name === 'CmdID')?.text), uri: g.children.find((c) => c.name === 'Item')?.children.find((c) => c.name === 'Target')?.children.find((c) => c.name === 'LocURI')?.text.trim() ?? '' }));
  const expected: LightReply = {
    msgId: full.header.msgId,
    target: full.header.target ?? '',
    source: full.header.source ?? '',
    ...(full.header.respUri === undefined ? {} : { respUri: full.header.respUri }),
    ...(full.headerStatus ? { headerStatus: { code: full.headerStatus.code, ...(full.headerStatus.chal?.nextNonce === undefined ? {} : { nextNonce: full.headerStatus.chal.nextNonce }) } } : {}),
    commands: full.commands.map((c) => c.name),
    gets,
    final: full.final,
  };
  const canonical = (r: LightReply) => JSON.stringify([r.msgId, r.target, r.source, r.respUri, r.headerStatus?.code, r.headerStatus?.nextNonce, r.commands, r.gets, r.final]);
  const a = canonical(light);
  const b = canonical(expected);
  return a === b ? undefined : `light reader ${a} != test client ${b}`;
}
