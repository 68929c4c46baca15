// Reads the XML form of a CP provisioning document (what serializeCpXml writes, and what
// a smartcard or PC tool may deliver as `.cp.xml`) for the reference agent's bootstrap.
// A small strict reader, not a general XML parser: it takes exactly the PROV 1.0 shape
// (`wap-provisioningdoc` > `characteristic` (nested) > `parm`), the XML declaration and
// the standard DOCTYPE line without an internal subset, the five predefined entities and
// character references in attribute values, comments, and whitespace between elements.
// Anything else (entity declarations, other elements, text, processing instructions)
// is refused with a reason, as are documents over the sizes cp-wbxml.ts allows.
import { AppError } from '../../errors.ts';
import type { CpCharacteristic, CpDocument, CpParm } from './cp-document.ts';

const MAX_BYTES = 64 * 1024;
const MAX_DEPTH = 8;
const MAX_ELEMENTS = 2_000;

const ATTRIBUTES: Record<string, readonly string[]> = { 'wap-provisioningdoc': ['version'], characteristic: ['type'], parm: ['name', 'value'] };
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

interface Element {
  name: string;
  attrs: Record<string, string>;
  children: Element[];
}

export function parseCpXml(input: string | Uint8Array): CpDocument {
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > MAX_BYTES) fail(`a CP document is at most ${MAX_BYTES} bytes; this one has ${size}`);
  let text: string;
  try {
    text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input);
  } catch {
    fail('the document is not UTF-8');
  }
  const reader = new Reader(text.replace(/^\uFEFF/, ''));
  reader.prolog();
  const root = reader.element(0);
  reader.misc();
  if (!reader.done()) reader.fail('content after the root element');
  if (root.name !== 'wap-provisioningdoc') fail(`the root element is <${root.name}>, not <wap-provisioningdoc>`);
  return { version: root.attrs.version ?? '1.0', characteristics: root.children.map(toCharacteristic) };
}

function toCharacteristic(el: Element): CpCharacteristic {
  if (el.name !== 'characteristic') fail(`<${el.name}> where a <characteristic> belongs`);
  const parms: CpParm[] = [];
  const children: CpCharacteristic[] = [];
  for (const child of el.children) {
    if (child.name === 'parm') {
      if (child.children.length > 0) fail('a <parm> holds no elements');
      parms.push({ name: child.attrs.name ?? '', value: child.attrs.value ?? '' });
    } else children.push(toCharacteristic(child));
  }
  return { type: el.attrs.type ?? '', parms, children };
}

function fail(message: string): never {
  throw new AppError('VALIDATION', `not a CP provisioning document: ${message}`);
}

class Reader {
  private at = 0;
  private elements = 0;

  constructor(private readonly src: string) {}

  done(): boolean {
    return this.at >= this.src.length;
  }

  fail(message: string): never {
    fail(`${message} (at character ${this.at})`);
  }

  /** The XML declaration, then comments, whitespace and at most one DOCTYPE without an internal subset. */
  prolog(): void {
    if (this.src.startsWith('<?xml', this.at)) {
      const end = this.src.indexOf('?>', this.at);
      if (end === -1) this.fail('an unterminated XML declaration');
      this.at = end + 2;
    }
    let doctype = false;
    for (;;) {
      this.misc();
      if (!this.src.startsWith('<!DOCTYPE', this.at)) return;
      if (doctype) this.fail('a second DOCTYPE');
      const end = this.src.indexOf('>', this.at);
      if (end === -1) this.fail('an unterminated DOCTYPE');
      const decl = this.src.slice(this.at, end);
      // An internal subset ("[...]") is where entity declarations live: none are taken.
      if (decl.includes('[')) this.fail('a DOCTYPE with an internal subset (entity declarations are not accepted)');
      if (!/^<!DOCTYPE\s+wap-provisioningdoc(\s|$)/.test(decl)) this.fail('a DOCTYPE for another document type');
      doctype = true;
      this.at = end + 1;
    }
  }

  /** Whitespace and comments. */
  misc(): void {
    for (;;) {
      const ws = /^\s*/.exec(this.src.slice(this.at, this.at + 4096));
      this.at += ws?.[0].length ?? 0;
      if (!this.src.startsWith('<!--', this.at)) return;
      const end = this.src.indexOf('-->', this.at + 4);
      if (end === -1) this.fail('an unterminated comment');
      this.at = end + 3;
    }
  }

  element(depth: number): Element {
    if (depth >= MAX_DEPTH) this.fail(`elements nested deeper than ${MAX_DEPTH}`);
    if (++this.elements > MAX_ELEMENTS) this.fail(`more than ${MAX_ELEMENTS} elements`);
    if (this.src.startsWith('<?', this.at)) this.fail('a processing instruction');
    if (this.src[this.at] !== '<') this.fail('text where an element belongs (CP elements hold only elements)');
    const open = /^<([A-Za-z][A-Za-z0-9_-]*)/.exec(this.src.slice(this.at, this.at + 64));
    if (!open?.[1]) this.fail(this.src.startsWith('<!', this.at) ? 'a declaration inside the document' : 'a malformed start tag');
    const name = open[1];
    const allowed = ATTRIBUTES[name];
    if (!allowed) this.fail(`an unknown element <${name}> (PROV 1.0 has wap-provisioningdoc, characteristic and parm)`);
    this.at += open[0].length;
    const attrs: Record<string, string> = {};
    for (;;) {
      const ws = /^\s*/.exec(this.src.slice(this.at, this.at + 4096));
      this.at += ws?.[0].length ?? 0;
      if (this.src.startsWith('/>', this.at)) {
        this.at += 2;
        return { name, attrs, children: [] };
      }
      if (this.src[this.at] === '>') {
        this.at += 1;
        break;
      }
      const attr = /^([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/.exec(this.src.slice(this.at, this.at + MAX_BYTES));
      if (!attr?.[1]) this.fail(`a malformed attribute in <${name}>`);
      const attrName = attr[1];
      if (!allowed.includes(attrName)) this.fail(`an unknown attribute ${attrName} on <${name}>`);
      if (attrName in attrs) this.fail(`attribute ${attrName} twice on <${name}>`);
      attrs[attrName] = this.decode(attr[2] ?? attr[3] ?? '');
      this.at += attr[0].length;
    }
    const children: Element[] = [];
    for (;;) {
      this.misc();
      if (this.done()) this.fail(`<${name}> is never closed`);
      if (this.src.startsWith('</', this.at)) {
        const close = new RegExp(`^</${name}\\s*>`).exec(this.src.slice(this.at, this.at + 128));
        if (!close) this.fail(`a closing tag that does not match <${name}>`);
        this.at += close[0].length;
        return { name, attrs, children };
      }
      children.push(this.element(depth + 1));
    }
  }

  /** Attribute text: the five predefined entities and character references, nothing else. */
  private decode(raw: string): string {
    return raw.replace(/&([^;]{0,10});?/g, (whole, ref: string) => {
      if (!whole.endsWith(';')) this.fail('"&" must start an entity or character reference');
      const named = ENTITIES[ref];
      if (named !== undefined) return named;
      const code = /^#[0-9]{1,7}$/.test(ref) ? Number.parseInt(ref.slice(1), 10) : /^#x[0-9A-Fa-f]{1,6}$/.test(ref) ? Number.parseInt(ref.slice(2), 16) : undefined;
      if (code === undefined) this.fail(`an undefined entity "&${ref};": only the five XML entities are allowed`);
      const valid = code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
      if (!valid) this.fail(`a character reference "&${ref};" to a character XML does not allow`);
      return String.fromCodePoint(code);
    });
  }
}
