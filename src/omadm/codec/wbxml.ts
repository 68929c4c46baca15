// WBXML codec for SyncML DM 1.2: turns the element tree into the binary form devices post
// as application/vnd.syncml.dm+wbxml, and back. Only what SyncML needs is supported (code
// pages 0 SyncML and 1 MetInf, no attributes); everything else is refused with the byte
// offset, and every length is checked against the bytes left so hostile input fails fast.
import { AppError } from '../../errors.ts';
import { concatBytes, DEFAULT_LIMITS, isElement, type DecodeLimits, type Page, type SyncContent, type SyncElement } from './element.ts';

/** Tag tokens per code page, as in PROTOCOL.md (the same values for SyncML 1.0, 1.1 and 1.2). */
export const CODE_PAGES: Readonly<Record<Page, Readonly<Record<string, number>>>> = {
  syncml: {
    Add: 0x05, Alert: 0x06, Archive: 0x07, Atomic: 0x08, Chal: 0x09, Cmd: 0x0a, CmdID: 0x0b,
    CmdRef: 0x0c, Copy: 0x0d, Cred: 0x0e, Data: 0x0f, Delete: 0x10, Exec: 0x11, Final: 0x12,
    Get: 0x13, Item: 0x14, Lang: 0x15, LocName: 0x16, LocURI: 0x17, Map: 0x18, MapItem: 0x19,
    Meta: 0x1a, MsgID: 0x1b, MsgRef: 0x1c, NoResp: 0x1d, NoResults: 0x1e, Put: 0x1f,
    Replace: 0x20, RespURI: 0x21, Results: 0x22, Search: 0x23, Sequence: 0x24, SessionID: 0x25,
    SftDel: 0x26, Source: 0x27, SourceRef: 0x28, Status: 0x29, Sync: 0x2a, SyncBody: 0x2b,
    SyncHdr: 0x2c, SyncML: 0x2d, Target: 0x2e, TargetRef: 0x2f, VerDTD: 0x31, VerProto: 0x32,
    NumberOfChanges: 0x33, MoreData: 0x34, Correlator: 0x3c,
  },
  metinf: {
    Anchor: 0x05, EMI: 0x06, Format: 0x07, FreeID: 0x08, FreeMem: 0x09, Last: 0x0a, Mark: 0x0b,
    MaxMsgSize: 0x0c, Mem: 0x0d, MetInf: 0x0e, Next: 0x0f, NextNonce: 0x10, SharedMem: 0x11,
    Size: 0x12, Type: 0x13, Version: 0x14, MaxObjSize: 0x15, FieldLevel: 0x16,
  },
};

export interface WbxmlEncodeOptions {
  /** WBXML version byte: 0x02 (WBXML 1.2, as the SyncML toolkit writes) or 0x03 (libwbxml). */
  version?: 0x02 | 0x03;
}

const PUBLIC_ID_SYNCML12 = 0x1201;
// Older SyncML documents use the same tag tokens for every element listed above, so
// accepting them costs nothing; VerDTD tells the layers above which version they got.
const PUBLIC_IDS: ReadonlyMap<number, string> = new Map([
  [PUBLIC_ID_SYNCML12, 'SyncML 1.2'],
  [0x0fd3, 'SyncML 1.1'],
  [0x0fd1, 'SyncML 1.0'],
]);
const LITERAL_PUBLIC_IDS: ReadonlySet<string> = new Set([
  '-//SYNCML//DTD SyncML 1.2//EN',
  '-//SYNCML//DTD SyncML 1.1//EN',
  '-//SYNCML//DTD SyncML 1.0//EN',
]);
const CHARSET_UTF8 = 0x6a;
const CHARSET_US_ASCII = 0x03;
const CHARSET_LATIN1 = 0x04;

// Global tokens (WBXML 1.3 section 7.1).
const SWITCH_PAGE = 0x00;
const END = 0x01;
const ENTITY = 0x02;
const STR_I = 0x03;
const LITERAL = 0x04;
const PI = 0x43;
const STR_T = 0x83;
const OPAQUE = 0xc3;
const TAG_CONTENT = 0x40;
const TAG_ATTRIBUTES = 0x80;
const TAG_ID_MASK = 0x3f;

const PAGES: readonly Page[] = ['syncml', 'metinf'];
const PAGE_LABEL: Readonly<Record<Page, string>> = { syncml: 'SyncML', metinf: 'MetInf' };
const TOKEN_BY_NAME: Readonly<Record<Page, ReadonlyMap<string, number>>> = {
  syncml: new Map(Object.entries(CODE_PAGES.syncml)),
  metinf: new Map(Object.entries(CODE_PAGES.metinf)),
};
const NAME_BY_TOKEN: readonly ReadonlyMap<number, string>[] = PAGES.map(
  (page) => new Map(Object.entries(CODE_PAGES[page]).map(([name, token]) => [token, name] as const)),
);
const LONGEST_NAME = Math.max(...PAGES.flatMap((page) => Object.keys(CODE_PAGES[page]).map((name) => name.length)));
const WHITESPACE_ONLY = /^[ \t\r\n]*$/;
const MAX_MB_UINT32 = 0xffff_ffff;

const utf8Encoder = new TextEncoder();

// ---------------------------------------------------------------------------------------
// Encoding

/** Encodes a SyncML element tree as WBXML (public id SyncML 1.2, UTF-8, no string table). */
export function encodeWbxml(root: SyncElement, options: WbxmlEncodeOptions = {}): Uint8Array {
  const out = new ByteSink();
  out.byte(options.version ?? 0x02);
  out.mbUInt32(PUBLIC_ID_SYNCML12);
  out.mbUInt32(CHARSET_UTF8);
  out.mbUInt32(0); // string table length: repeated strings are rare in DM, inline is simpler
  const state = { page: 0 };
  encodeElement(out, root, state);
  return out.result();
}

function encodeElement(out: ByteSink, element: SyncElement, state: { page: number }): void {
  const pageIndex = PAGES.indexOf(element.page);
  const token = TOKEN_BY_NAME[element.page]?.get(element.name);
  if (pageIndex < 0 || token === undefined) {
    const other = PAGES.find((page) => TOKEN_BY_NAME[page].has(element.name));
    const where = other === undefined ? 'any WBXML code page' : `the ${PAGE_LABEL[element.page] ?? element.page} page (it is on ${PAGE_LABEL[other]})`;
    throw new AppError('VALIDATION', `cannot encode element <${element.name}> as WBXML: not on ${where}`);
  }
  const content = contentToEncode(element.children);
  // Switch lazily, right before a tag of the other page: END and text are page-independent.
  if (state.page !== pageIndex) {
    out.byte(SWITCH_PAGE);
    out.byte(pageIndex);
    state.page = pageIndex;
  }
  out.byte(content.length > 0 ? token | TAG_CONTENT : token);
  if (content.length === 0) return;
  for (const child of content) {
    if (typeof child === 'string') encodeText(out, child);
    else if (child instanceof Uint8Array) encodeOpaque(out, child);
    else encodeElement(out, child, state);
  }
  out.byte(END);
}

// Whitespace between elements would reach parsers that choke on it (libdmclient), and empty
// strings carry nothing; text that is an element's whole content is kept as is.
function contentToEncode(children: readonly SyncContent[]): readonly SyncContent[] {
  // The common cases as they are: one non-empty text, or elements and bytes only.
  if (children.length === 1 && children[0] !== '') return children;
  let anyText = false;
  for (let k = 0; k < children.length && !anyText; k++) anyText = typeof children[k] === 'string';
  if (!anyText) return children;
  const hasElements = children.some((child) => typeof child !== 'string' && !(child instanceof Uint8Array));
  return children.filter((child) => typeof child !== 'string' || (child !== '' && !(hasElements && WHITESPACE_ONLY.test(child))));
}

function encodeText(out: ByteSink, text: string): void {
  // STR_I ends at the first NUL, so text carrying one can only travel as OPAQUE (U+0000 is
  // the only character whose UTF-8 holds a zero byte).
  if (text.includes('\u0000')) {
    encodeOpaque(out, utf8Encoder.encode(text));
    return;
  }
  out.byte(STR_I);
  out.utf8(text);
  out.byte(0);
}

function encodeOpaque(out: ByteSink, bytes: Uint8Array): void {
  out.byte(OPAQUE);
  out.mbUInt32(bytes.length);
  out.bytes(bytes);
}

/** A growable byte buffer. */
class ByteSink {
  private buffer = new Uint8Array(512);
  private length = 0;

  byte(value: number): void {
    this.reserve(1);
    this.buffer[this.length] = value;
    this.length += 1;
  }

  bytes(values: Uint8Array): void {
    this.reserve(values.length);
    this.buffer.set(values, this.length);
    this.length += values.length;
  }

  /** Text as UTF-8, written in place (ASCII byte by byte, the rest by the encoder). */
  utf8(text: string): void {
    // At most 3 bytes per UTF-16 unit (a surrogate pair's 4 bytes stand for 2 units).
    this.reserve(text.length * 3);
    let at = this.length;
    for (let k = 0; k < text.length; k++) {
      const code = text.charCodeAt(k);
      if (code >= 0x80) {
        at += utf8Encoder.encodeInto(text.slice(k), this.buffer.subarray(at)).written;
        break;
      }
      this.buffer[at++] = code;
    }
    this.length = at;
  }

  /** WBXML's multi-byte unsigned integer: 7 bits per byte, most significant first. */
  mbUInt32(value: number): void {
    if (!Number.isInteger(value) || value < 0 || value > MAX_MB_UINT32) {
      throw new AppError('VALIDATION', `cannot encode ${value} as a WBXML mb_u_int32`);
    }
    const groups: number[] = [value % 128];
    for (let rest = Math.floor(value / 128); rest > 0; rest = Math.floor(rest / 128)) groups.unshift((rest % 128) | 0x80);
    for (const group of groups) this.byte(group);
  }

  result(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + extra));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }
}

// ---------------------------------------------------------------------------------------
// Decoding

/**
 * Decodes a WBXML SyncML message into the element tree. Adjacent text pieces of one element
 * become one string, adjacent OPAQUE pieces one Uint8Array; whitespace-only text next to
 * child elements is dropped (as the XML codec ignores it). OPAQUE content stays bytes.
 */
export function decodeWbxml(bytes: Uint8Array, limits: DecodeLimits = DEFAULT_LIMITS): SyncElement {
  if (bytes.length > limits.maxBytes) {
    throw new AppError('TOO_LARGE', `WBXML message of ${bytes.length} bytes is over the limit of ${limits.maxBytes} bytes`);
  }
  const reader = new Reader(bytes);
  const header = readHeader(reader);
  return readBody(reader, header, limits);
}

interface Header {
  decodeText: (bytes: Uint8Array, offset: number) => string;
  table: StringTable;
}

function readHeader(reader: Reader): Header {
  const version = reader.byte('version byte');
  if (version < 0x01 || version > 0x03) {
    throw invalid(0, `unsupported WBXML version byte 0x${hex(version)} (expected 0x01 to 0x03)`);
  }
  const publicIdOffset = reader.offset;
  const publicId = reader.mbUInt32('public id');
  // Public id 0 means "named by a string-table entry", which comes after the charset.
  const literalIndex = publicId === 0 ? reader.mbUInt32('public id string index') : undefined;
  if (publicId !== 0 && !PUBLIC_IDS.has(publicId)) {
    throw invalid(publicIdOffset, `public id 0x${hex(publicId)} is not SyncML (expected 0x1201, SyncML 1.2)`);
  }
  const charsetOffset = reader.offset;
  const charset = reader.mbUInt32('charset');
  const decodeText = textDecoderFor(charset, charsetOffset);
  const tableOffset = reader.offset;
  const tableLength = reader.mbUInt32('string table length');
  const table = new StringTable(reader.take(tableLength, 'string table', tableOffset), reader.offset, decodeText);
  if (literalIndex !== undefined) {
    const name = table.lookup(literalIndex, publicIdOffset);
    if (!LITERAL_PUBLIC_IDS.has(name)) {
      throw invalid(publicIdOffset, `public id "${name}" is not SyncML (expected "-//SYNCML//DTD SyncML 1.2//EN")`);
    }
  }
  return { decodeText, table };
}

function textDecoderFor(charset: number, offset: number): Header['decodeText'] {
  if (charset === CHARSET_UTF8) {
    const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    return (bytes, at) => {
      try {
        return decoder.decode(bytes);
      } catch (cause) {
        throw invalid(at, 'string is not valid UTF-8', cause);
      }
    };
  }
  // Old clients label plain ASCII text so; latin1 decodes it and any stray high bytes.
  if (charset === CHARSET_US_ASCII || charset === CHARSET_LATIN1) {
    return (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
  }
  throw invalid(offset, `unsupported charset MIBenum ${charset} (expected 106, UTF-8)`);
}

/** The string table, looked up by byte index as STR_T, LITERAL and the public id do. */
class StringTable {
  /** Offsets of every NUL, ascending, so a lookup never rescans the table. */
  private readonly terminators: number[] = [];

  constructor(
    private readonly bytes: Uint8Array,
    private readonly start: number,
    private readonly decodeText: Header['decodeText'],
  ) {
    for (let at = bytes.indexOf(0); at >= 0; at = bytes.indexOf(0, at + 1)) this.terminators.push(at);
  }

  /** The raw bytes of the string starting at `index`; `offset` is where the reference is. */
  raw(index: number, offset: number): Uint8Array {
    if (index >= this.bytes.length) {
      throw invalid(offset, `string table reference ${index} is past the end of the ${this.bytes.length}-byte string table`);
    }
    const end = this.terminatorFrom(index);
    if (end === undefined) throw invalid(offset, `string table entry ${index} has no NUL terminator`);
    return this.bytes.subarray(index, end);
  }

  lookup(index: number, offset: number): string {
    return this.decodeText(this.raw(index, offset), this.start + index);
  }

  private terminatorFrom(index: number): number | undefined {
    let low = 0;
    let high = this.terminators.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.terminators[middle] ?? Infinity) < index) low = middle + 1;
      else high = middle;
    }
    return this.terminators[low];
  }
}

interface OpenElement {
  element: SyncElement;
  offset: number;
  /** Where its children start in readBody's `pending`. */
  from: number;
}

/** Placeholder children of an element whose END is not read yet (never seen outside the decoder). */
const UNREAD: SyncContent[] = [];

function readBody(reader: Reader, header: Header, limits: DecodeLimits): SyncElement {
  const stack: OpenElement[] = [];
  let root: SyncElement | undefined;
  let page = 0;
  let elements = 0;
  // Text from string-table references can repeat one entry many times; cap what it expands to.
  let contentBytes = 0;
  // The content read so far of every open element, `pendingLength` of it; at END an
  // element's becomes one array of its exact size (an array grown by push reserves 16 slots).
  const pending: SyncContent[] = [];
  let pendingLength = 0;
  const addPending = (content: SyncContent): void => {
    if (pendingLength === pending.length) pending.push(content);
    else pending[pendingLength] = content;
    pendingLength += 1;
  };

  const addContent = (piece: string | Uint8Array, size: number, offset: number): void => {
    const open = stack.at(-1);
    if (open === undefined) throw invalid(offset, 'content before the root element');
    contentBytes += size;
    if (contentBytes > limits.maxBytes) {
      throw tooLarge(offset, `text from the string table expands the message beyond ${limits.maxBytes} bytes`);
    }
    addPending(piece);
  };

  const openElement = (name: string, elementPage: Page, hasContent: boolean, offset: number): void => {
    elements += 1;
    if (elements > limits.maxElements) {
      throw tooLarge(offset, `more than ${limits.maxElements} elements`);
    }
    if (stack.length + 1 > limits.maxDepth) {
      throw tooLarge(offset, `elements nest deeper than ${limits.maxDepth} levels`);
    }
    const element: SyncElement = { name, page: elementPage, children: hasContent ? UNREAD : [] };
    if (stack.length === 0) root = element;
    else addPending(element);
    if (hasContent) stack.push({ element, offset, from: pendingLength });
  };

  for (;;) {
    if (root !== undefined && stack.length === 0) {
      if (!reader.atEnd) throw invalid(reader.offset, `${reader.remaining} trailing bytes after the root element`);
      return root;
    }
    const offset = reader.offset;
    if (reader.atEnd) {
      const open = stack.at(-1);
      throw invalid(offset, open === undefined ? 'message ends before the root element' : `message ends inside <${open.element.name}> (opened at offset ${open.offset}): missing END`);
    }
    const token = reader.byte('token');
    switch (token) {
      case SWITCH_PAGE: {
        const next = reader.byte('code page');
        if (next !== 0 && next !== 1) throw invalid(offset, `SWITCH_PAGE to code page ${next} (SyncML uses only 0 and 1)`);
        page = next;
        break;
      }
      case END: {
        const open = stack.pop();
        if (open === undefined) throw invalid(offset, 'END without an open element');
        open.element.children = pendingLength === open.from ? [] : normalizeContent(pending.slice(open.from, pendingLength));
        pendingLength = open.from;
        break;
      }
      case ENTITY: {
        const codePoint = reader.mbUInt32('entity');
        if (codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) {
          throw invalid(offset, `ENTITY 0x${hex(codePoint)} is not a Unicode scalar value`);
        }
        addContent(String.fromCodePoint(codePoint), 1, offset);
        break;
      }
      case STR_I: {
        const raw = reader.untilNul(offset);
        addContent(header.decodeText(raw, offset + 1), raw.length, offset);
        break;
      }
      case STR_T: {
        const raw = header.table.raw(reader.mbUInt32('string table reference'), offset);
        addContent(header.decodeText(raw, offset), raw.length, offset);
        break;
      }
      case OPAQUE: {
        const length = reader.mbUInt32('OPAQUE length');
        // A copy, so the tree owns plain Uint8Arrays even when the input is a Buffer view.
        const data = new Uint8Array(reader.take(length, 'OPAQUE data', offset));
        addContent(data, data.length, offset);
        break;
      }
      case LITERAL:
      case LITERAL | TAG_CONTENT:
      case LITERAL | TAG_ATTRIBUTES:
      case LITERAL | TAG_CONTENT | TAG_ATTRIBUTES: {
        if ((token & TAG_ATTRIBUTES) !== 0) throw invalid(offset, 'attributes on a literal tag (SyncML uses none)');
        const raw = header.table.raw(reader.mbUInt32('literal tag name'), offset);
        const name = raw.length <= LONGEST_NAME ? header.decodeText(raw, offset) : undefined;
        const known = name === undefined ? undefined : PAGES.find((candidate) => TOKEN_BY_NAME[candidate].has(name));
        if (name === undefined || known === undefined) {
          throw invalid(offset, `literal tag ${name === undefined ? `of ${raw.length} bytes` : `<${name}>`} is not a SyncML or MetInf element`);
        }
        openElement(name, known, (token & TAG_CONTENT) !== 0, offset);
        break;
      }
      case PI:
        throw invalid(offset, 'processing instruction (SyncML uses none)');
      case 0x40:
      case 0x41:
      case 0x42:
      case 0x80:
      case 0x81:
      case 0x82:
      case 0xc0:
      case 0xc1:
      case 0xc2:
        throw invalid(offset, `extension token 0x${hex(token)} (SyncML uses none)`);
      default: {
        if ((token & TAG_ATTRIBUTES) !== 0) throw invalid(offset, `attributes on tag token 0x${hex(token)} (SyncML uses none)`);
        const elementPage = PAGES[page] ?? 'syncml';
        const name = NAME_BY_TOKEN[page]?.get(token & TAG_ID_MASK);
        if (name === undefined) {
          throw invalid(offset, `unknown tag token 0x${hex(token & TAG_ID_MASK)} on code page ${page} (${PAGE_LABEL[elementPage]})`);
        }
        openElement(name, elementPage, (token & TAG_CONTENT) !== 0, offset);
      }
    }
  }
}

function normalizeContent(children: SyncContent[]): SyncContent[] {
  // Most elements hold one non-empty text or only elements: nothing to merge or drop.
  if (children.length === 1 && children[0] !== '') return children;
  let onlyElements = true;
  for (let k = 0; k < children.length && onlyElements; k++) onlyElements = isElement(children[k]);
  if (onlyElements) return children;
  return normalizeMixed(children);
}

function normalizeMixed(children: readonly SyncContent[]): SyncContent[] {
  const merged: SyncContent[] = [];
  let texts: string[] = [];
  let opaques: Uint8Array[] = [];
  const flush = (): void => {
    if (texts.length > 0) merged.push(texts.join(''));
    if (opaques.length > 0) merged.push(concatBytes(opaques));
    texts = [];
    opaques = [];
  };
  for (const child of children) {
    if (typeof child === 'string') {
      if (opaques.length > 0) flush();
      texts.push(child);
    } else if (child instanceof Uint8Array) {
      if (texts.length > 0) flush();
      opaques.push(child);
    } else {
      flush();
      merged.push(child);
    }
  }
  flush();
  const hasElements = merged.some((child) => typeof child !== 'string' && !(child instanceof Uint8Array));
  return merged.filter((child) => typeof child !== 'string' || (child !== '' && !(hasElements && WHITESPACE_ONLY.test(child))));
}


/** Bounds-checked reading: every failure names the byte offset. */
class Reader {
  offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  get atEnd(): boolean {
    return this.offset >= this.bytes.length;
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  byte(what: string): number {
    const value = this.bytes[this.offset];
    if (value === undefined) throw invalid(this.offset, `message truncated: ${what} missing`);
    this.offset += 1;
    return value;
  }

  /** mb_u_int32: at most 5 bytes and below 2^32, so a run of continuation bits cannot loop on. */
  mbUInt32(what: string): number {
    const start = this.offset;
    let value = 0;
    for (let count = 0; count < 5; count += 1) {
      const byte = this.byte(what);
      value = value * 128 + (byte & 0x7f);
      if ((byte & 0x80) === 0) {
        if (value > MAX_MB_UINT32) throw invalid(start, `${what} does not fit in 32 bits`);
        return value;
      }
    }
    throw invalid(start, `${what} is longer than 5 bytes`);
  }

  /** `length` bytes, checked against what is left before anything is copied. */
  take(length: number, what: string, offset: number): Uint8Array {
    if (length > this.remaining) {
      throw invalid(offset, `${what} claims ${length} bytes but only ${this.remaining} remain`);
    }
    const slice = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }

  /** The bytes of an inline string up to its NUL, which is consumed. */
  untilNul(offset: number): Uint8Array {
    const end = this.bytes.indexOf(0, this.offset);
    if (end < 0) throw invalid(offset, 'inline string (STR_I) has no NUL terminator');
    const slice = this.bytes.subarray(this.offset, end);
    this.offset = end + 1;
    return slice;
  }
}

function invalid(offset: number, message: string, cause?: unknown): AppError {
  return new AppError('VALIDATION', `invalid WBXML at offset ${offset}: ${message}`, cause === undefined ? undefined : { cause });
}

function tooLarge(offset: number, message: string): AppError {
  return new AppError('TOO_LARGE', `WBXML too large at offset ${offset}: ${message}`);
}

function hex(value: number): string {
  return value.toString(16).toUpperCase().padStart(2, '0');
}
