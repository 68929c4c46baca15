// The binary form of a CP provisioning document (WBXML, public id PROV 1.0 = 0x0B), with
// the tag and attribute tokens libwbxml's tables give for PROV 1.0 and OMA's code page 1.
// Elements stay on tag page 0 (wap-provisioningdoc 05, characteristic 06, parm 07); the
// root's version="1.0" is attribute token 46 on page 0, then the attributes switch to page
// 1, where every w7 name has a token (type=APPLICATION 55, name=APPID 36, ...). Values go
// as inline strings. The decoder reads this and what other encoders write with the same
// tables (string table references, either page); it refuses anything else with the byte
// offset, and checks every length against the bytes left, so a hostile file fails fast.
import { AppError } from '../../errors.ts';
import type { CpCharacteristic, CpDocument, CpParm } from './cp-document.ts';

export const PROV10_PUBLIC_ID = 0x0b;
const CHARSET_UTF8 = 0x6a;
const SWITCH_PAGE = 0x00;
const END = 0x01;
const ENTITY = 0x02;
const STR_I = 0x03;
const STR_T = 0x83;
const TAG_ATTRIBUTES = 0x80;
const TAG_CONTENT = 0x40;

const TAGS: Record<number, string> = { 0x05: 'wap-provisioningdoc', 0x06: 'characteristic', 0x07: 'parm' };

/** Attribute start tokens: [attribute, value prefix] by page and token. */
const ATTRS: Record<number, Record<number, readonly [string, string]>> = {
  0: {
    0x05: ['name', ''], 0x06: ['value', ''], 0x07: ['name', 'NAME'], 0x14: ['name', 'INTERNET'], 0x22: ['name', 'TO-NAPID'],
    0x45: ['version', ''], 0x46: ['version', '1.0'], 0x50: ['type', ''], 0x53: ['type', 'PORT'], 0x58: ['type', 'CLIENTIDENTITY'],
  },
  1: {
    0x05: ['name', ''], 0x06: ['value', ''], 0x07: ['name', 'NAME'], 0x14: ['name', 'INTERNET'], 0x1c: ['name', 'STARTPAGE'],
    0x22: ['name', 'TO-NAPID'], 0x23: ['name', 'PORTNBR'], 0x24: ['name', 'SERVICE'], 0x2e: ['name', 'AACCEPT'], 0x2f: ['name', 'AAUTHDATA'],
    0x30: ['name', 'AAUTHLEVEL'], 0x31: ['name', 'AAUTHNAME'], 0x32: ['name', 'AAUTHSECRET'], 0x33: ['name', 'AAUTHTYPE'], 0x34: ['name', 'ADDR'],
    0x35: ['name', 'ADDRTYPE'], 0x36: ['name', 'APPID'], 0x37: ['name', 'APROTOCOL'], 0x38: ['name', 'PROVIDER-ID'], 0x39: ['name', 'TO-PROXY'],
    0x3a: ['name', 'URI'], 0x3b: ['name', 'RULE'], 0x50: ['type', ''], 0x53: ['type', 'PORT'], 0x55: ['type', 'APPLICATION'],
    0x56: ['type', 'APPADDR'], 0x57: ['type', 'APPAUTH'], 0x58: ['type', 'CLIENTIDENTITY'], 0x59: ['type', 'RESOURCE'],
  },
};
/**
 * Attribute value tokens (>= 0x80). The AAUTHTYPE pieces are at 0x90-0x93 (PROV 1.1, as
 * Debian's libwbxml writes them; PROV 1.0 tables put them at 0x80-0x83, where WBXML's own
 * global tokens such as STR_T are, so those are not read as values).
 */
const AAUTHTYPE_PIECES = { 0x90: ',', 0x91: 'HTTP-', 0x92: 'BASIC', 0x93: 'DIGEST' };
const VALUES: Record<number, Record<number, string>> = {
  0: { 0x86: 'IPV6', 0x87: 'E164', 0x88: 'ALPHA' },
  1: { 0x86: 'IPV6', 0x87: 'E164', 0x88: 'ALPHA', 0x8d: 'APPSRV', 0x8e: 'OBEX', ...AAUTHTYPE_PIECES },
};

const MAX_BYTES = 64 * 1024;
const MAX_DEPTH = 8;
const MAX_ELEMENTS = 2_000;

// ---------------------------------------------------------------------------------------
// Encoding

export function encodeCpWbxml(doc: CpDocument): Uint8Array {
  const out: number[] = [0x03, PROV10_PUBLIC_ID, CHARSET_UTF8, 0x00];
  const state = { attrPage: 0 };
  // The root: version="1.0" has its own token on page 0; any other version goes inline.
  out.push(0x05 | TAG_ATTRIBUTES | TAG_CONTENT);
  if (doc.version === '1.0') out.push(0x46);
  else out.push(0x45, ...inline(doc.version));
  out.push(END);
  for (const c of doc.characteristics) encodeCharacteristic(out, c, state);
  out.push(END);
  return Uint8Array.from(out);
}

function encodeCharacteristic(out: number[], c: CpCharacteristic, state: { attrPage: number }): void {
  const hasContent = c.parms.length > 0 || c.children.length > 0;
  out.push(0x06 | TAG_ATTRIBUTES | (hasContent ? TAG_CONTENT : 0));
  attribute(out, state, 'type', c.type);
  out.push(END);
  if (!hasContent) return;
  for (const p of c.parms) encodeParm(out, p, state);
  for (const child of c.children) encodeCharacteristic(out, child, state);
  out.push(END);
}

function encodeParm(out: number[], p: CpParm, state: { attrPage: number }): void {
  out.push(0x07 | TAG_ATTRIBUTES);
  attribute(out, state, 'name', p.name);
  attribute(out, state, 'value', p.value);
  out.push(END);
}

/** One attribute: the token naming attribute and value together if page 1 has one, else the attribute's own token and the value inline. */
function attribute(out: number[], state: { attrPage: number }, name: string, value: string): void {
  if (state.attrPage !== 1) {
    out.push(SWITCH_PAGE, 1);
    state.attrPage = 1;
  }
  const page = ATTRS[1] ?? {};
  const whole = Object.entries(page).find(([, [a, v]]) => a === name && v === value && v !== '');
  if (whole) {
    out.push(Number(whole[0]));
    return;
  }
  const bare = Object.entries(page).find(([, [a, v]]) => a === name && v === '');
  if (!bare) throw new AppError('VALIDATION', `cannot encode attribute ${name} in a CP document`);
  out.push(Number(bare[0]), ...inline(value));
}

function inline(text: string): number[] {
  const bytes = new TextEncoder().encode(text);
  if (bytes.includes(0)) throw new AppError('VALIDATION', 'a CP attribute value cannot contain a NUL character');
  return [STR_I, ...bytes, 0];
}

// ---------------------------------------------------------------------------------------
// Decoding

interface RawElement {
  name: string;
  attrs: Record<string, string>;
  children: RawElement[];
}

export function decodeCpWbxml(bytes: Uint8Array): CpDocument {
  if (bytes.length > MAX_BYTES) throw new AppError('VALIDATION', `a CP document is at most ${MAX_BYTES} bytes; this one has ${bytes.length}`);
  const r = new Reader(bytes);
  const version = r.byte();
  if (version < 0x01 || version > 0x03) r.fail(`unsupported WBXML version 0x${version.toString(16)}`);
  const publicId = r.mbUInt32();
  if (publicId === 0) r.fail('a public id given as a string-table reference is not supported');
  if (publicId !== PROV10_PUBLIC_ID) r.fail(`public id 0x${publicId.toString(16)} is not PROV 1.0 (0x0b)`);
  const charset = r.mbUInt32();
  if (charset !== CHARSET_UTF8 && charset !== 0x03 && charset !== 0x04) r.fail(`charset ${charset} is not UTF-8, US-ASCII or Latin-1`);
  const tableLength = r.mbUInt32();
  const table = r.take(tableLength);
  const state = { tagPage: 0, attrPage: 0, elements: 0, table };
  const root = readElement(r, state, 0);
  if (!r.done()) r.fail('bytes after the document');
  if (root.name !== 'wap-provisioningdoc') r.fail(`the root element is <${root.name}>, not <wap-provisioningdoc>`);
  const toCharacteristic = (el: RawElement): CpCharacteristic => {
    if (el.name !== 'characteristic') throw new AppError('VALIDATION', `<${el.name}> where a <characteristic> belongs`);
    const parms: CpParm[] = [];
    const children: CpCharacteristic[] = [];
    for (const child of el.children) {
      if (child.name === 'parm') parms.push({ name: child.attrs.name ?? '', value: child.attrs.value ?? '' });
      else children.push(toCharacteristic(child));
    }
    return { type: el.attrs.type ?? '', parms, children };
  };
  return { version: root.attrs.version ?? '1.0', characteristics: root.children.map(toCharacteristic) };
}

function readElement(r: Reader, state: { tagPage: number; attrPage: number; elements: number; table: Uint8Array }, depth: number): RawElement {
  if (depth >= MAX_DEPTH) r.fail(`elements nested deeper than ${MAX_DEPTH}`);
  if (++state.elements > MAX_ELEMENTS) r.fail(`more than ${MAX_ELEMENTS} elements`);
  let token = r.byte();
  while (token === SWITCH_PAGE) {
    state.tagPage = r.byte();
    token = r.byte();
  }
  const name = state.tagPage <= 1 ? TAGS[token & 0x3f] : undefined;
  if (!name) r.fail(`unknown tag token 0x${token.toString(16)} on page ${state.tagPage}`);
  const el: RawElement = { name, attrs: {}, children: [] };
  if (token & TAG_ATTRIBUTES) readAttributes(r, state, el);
  if (token & TAG_CONTENT) {
    for (;;) {
      const next = r.peek();
      if (next === END) {
        r.byte();
        break;
      }
      if (next === STR_I || next === STR_T || next === 0xc3 || next === ENTITY) r.fail(`text inside <${name}>: CP elements hold only elements`);
      el.children.push(readElement(r, state, depth + 1));
    }
  }
  return el;
}

function readAttributes(r: Reader, state: { attrPage: number; table: Uint8Array }, el: RawElement): void {
  let current: string | undefined;
  for (;;) {
    const b = r.byte();
    if (b === END) return;
    if (b === SWITCH_PAGE) {
      state.attrPage = r.byte();
      continue;
    }
    if (b === STR_I || b === STR_T || b === ENTITY || b >= 0x80) {
      if (current === undefined) r.fail('an attribute value before any attribute');
      let piece: string;
      if (b === STR_I) piece = r.cString();
      else if (b === STR_T) piece = tableString(r, state.table, r.mbUInt32());
      else if (b === ENTITY) piece = String.fromCodePoint(r.mbUInt32());
      else {
        const known = VALUES[state.attrPage]?.[b];
        if (known === undefined) r.fail(`unknown attribute value token 0x${b.toString(16)} on page ${state.attrPage}`);
        piece = known;
      }
      const value = `${el.attrs[current] ?? ''}${piece}`;
      el.attrs[current] = value;
      if (value.length > 4096) r.fail('an attribute value longer than 4096 characters');
      continue;
    }
    const start = ATTRS[state.attrPage]?.[b];
    if (!start) r.fail(`unknown attribute token 0x${b.toString(16)} on page ${state.attrPage}`);
    current = start[0];
    el.attrs[current] = start[1];
  }
}

function tableString(r: Reader, table: Uint8Array, offset: number): string {
  if (offset >= table.length) r.fail(`string table reference ${offset} past its end (${table.length})`);
  const end = table.indexOf(0, offset);
  if (end < 0) r.fail('unterminated string in the string table');
  return new TextDecoder('utf-8', { fatal: true }).decode(table.subarray(offset, end));
}

class Reader {
  private at = 0;
  constructor(private readonly bytes: Uint8Array) {}

  fail(reason: string): never {
    throw new AppError('VALIDATION', `bad CP WBXML at byte ${this.at}: ${reason}`);
  }
  done(): boolean {
    return this.at >= this.bytes.length;
  }
  peek(): number {
    const b = this.bytes[this.at];
    if (b === undefined) this.fail('unexpected end of input');
    return b;
  }
  byte(): number {
    const b = this.peek();
    this.at += 1;
    return b;
  }
  mbUInt32(): number {
    let value = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.byte();
      value = value * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) return value;
    }
    return this.fail('a multi-byte integer longer than 5 bytes');
  }
  take(length: number): Uint8Array {
    if (length > this.bytes.length - this.at) this.fail(`a length of ${length} past the end of the input`);
    const piece = this.bytes.subarray(this.at, this.at + length);
    this.at += length;
    return piece;
  }
  cString(): string {
    const end = this.bytes.indexOf(0, this.at);
    if (end < 0) this.fail('unterminated inline string');
    const piece = this.bytes.subarray(this.at, end);
    this.at = end + 1;
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(piece);
    } catch {
      return this.fail('an inline string that is not UTF-8');
    }
  }
}
