// XML encoding of SyncML DM 1.2: a strict parser for the small XML subset SyncML uses, and
// the matching serializer. Hand-written rather than built on a general XML library so that
// everything SyncML never needs (DOCTYPE, entity declarations, attributes, processing
// instructions) is refused before it can cost memory or time, and limits are checked while
// parsing instead of after a whole tree has been built. Input is untrusted device traffic.
import { AppError } from '../../errors.ts';
import { DEFAULT_LIMITS, writeTree, type DecodeLimits, type ElementSink, type Page, type SyncContent, type SyncElement } from './element.ts';
import { METINF_NAMESPACE, SYNCML_NAMESPACE } from './message.ts';
import { CODE_PAGES } from './wbxml.ts';

/** A DOCTYPE that only names the SyncML DTD (no internal subset, so no entities). */
const EXTERNAL_DOCTYPE = /^<!DOCTYPE\s+SyncML(?:\s+(?:PUBLIC\s+"[^"<>\[\]]*"\s+"[^"<>\[\]]*"|SYSTEM\s+"[^"<>\[\]]*"))?\s*>/i;

/** Element names of the MetInf code page; inside `<Meta>` they belong to page 'metinf'. */
export const METINF_ELEMENTS: ReadonlySet<string> = new Set([
  'Anchor',
  'EMI',
  'FieldLevel',
  'Format',
  'FreeID',
  'FreeMem',
  'Last',
  'Mark',
  'MaxMsgSize',
  'MaxObjSize',
  'Mem',
  'MetInf',
  'Next',
  'NextNonce',
  'SharedMem',
  'Size',
  'Type',
  'Version',
]);

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';
const SYNCML_NAMESPACE_LOWER = SYNCML_NAMESPACE.toLowerCase();

// ASCII names only: SyncML has no others, and refusing ':' keeps namespace prefixes (which
// would need xmlns:* attributes we refuse) out. The parser reads names and whitespace
// character by character (isNameStart, isNameChar, skipWhitespace): every DM message is
// parsed, and a sticky regex per token cost more than the rest of the parse (bench/dm.ts).
const NAME_EXACT = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const ATTRIBUTE_NAME = /[A-Za-z_:][A-Za-z0-9_.:-]*/y;
const DECLARATION = new RegExp(
  [
    `<\\?xml[ \\t\\n]+version[ \\t\\n]*=[ \\t\\n]*(["'])1\\.[0-9]+\\1`,
    `(?:[ \\t\\n]+encoding[ \\t\\n]*=[ \\t\\n]*(["'])([A-Za-z][A-Za-z0-9._-]*)\\2)?`,
    `(?:[ \\t\\n]+standalone[ \\t\\n]*=[ \\t\\n]*(["'])(?:yes|no)\\4)?[ \\t\\n]*\\?>`,
  ].join(''),
  'y',
);
// Characters XML 1.0 cannot carry at all, not even as character references.
const FORBIDDEN_CHARACTER = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;
// FORBIDDEN_CHARACTER or a CR (U+000D, inside the range U+000B-U+001F).
const CR_OR_FORBIDDEN = /[\u0000-\u0008\u000B-\u001F\uFFFE\uFFFF]/;
// A Map, not an object literal: "&constructor;" must not find Object.prototype.constructor.
const PREDEFINED_ENTITIES: ReadonlyMap<string, string> = new Map([
  ['lt', '<'],
  ['gt', '>'],
  ['amp', '&'],
  ['quot', '"'],
  ['apos', "'"],
]);

/** [A-Za-z_]: how a name starts (NaN, past the end, is none). */
function isNameStart(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || code === 0x5f;
}

/** [A-Za-z0-9_.-]: what a name goes on with. */
function isNameChar(code: number): boolean {
  return isNameStart(code) || (code >= 0x30 && code <= 0x39) || code === 0x2e || code === 0x2d;
}

/** [A-Za-z0-9_.:-]: what an attribute name goes on with (ATTRIBUTE_NAME). */
function isAttributeNameChar(code: number): boolean {
  return isNameChar(code) || code === 0x3a;
}

function invalid(message: string): never {
  throw new AppError('VALIDATION', message);
}

function tooLarge(message: string): never {
  throw new AppError('TOO_LARGE', message);
}

function describeCharacter(char: string): string {
  return `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Turns the input into a string, refusing oversized input before any parsing work. */
function decodeInput(input: string | Uint8Array, limits: DecodeLimits): string {
  if (typeof input === 'string') {
    // Every character is at least one UTF-8 byte, so the cheap length check goes first.
    if (input.length > limits.maxBytes || Buffer.byteLength(input, 'utf8') > limits.maxBytes) {
      tooLarge(`XML message is larger than the limit of ${limits.maxBytes} bytes`);
    }
    if (!input.isWellFormed()) invalid('XML message contains a lone UTF-16 surrogate');
    return input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  }
  if (input.byteLength > limits.maxBytes) {
    tooLarge(`XML message of ${input.byteLength} bytes is larger than the limit of ${limits.maxBytes} bytes`);
  }
  try {
    return inputDecoder.decode(input);
  } catch (error) {
    throw new AppError('VALIDATION', 'XML message is not valid UTF-8', { cause: error });
  }
}

// fatal: a message with broken UTF-8 is refused rather than silently patched with U+FFFD.
// One decoder for every message: without `stream` each decode starts afresh.
const inputDecoder = new TextDecoder('utf-8', { fatal: true });

/** Bits of `Parser.openFlags`: what an open element passes on to its children. */
const IN_METINF_NAMESPACE = 1;
const IN_META = 2;
/** Above those bits, the open element's KNOWN_NAMES slot + 1 (0: not a known name). */
const SLOT_SHIFT = 2;

// Element names are read through this table: a name SyncML defines comes back as the one
// string of the table instead of a new string per element (a message has a few hundred).
// Indexed by a hash computed while scanning the name, so a known name costs no allocation;
// unknown names (or a rare collision) are sliced from the input as before. An array rather
// than a Map keyed by the hash: the lookup was a fifth of startTag's time (bench/dm.ts).
const KNOWN_NAMES_MASK = 4095;
const KNOWN_NAMES: Array<string | undefined> = new Array<string | undefined>(KNOWN_NAMES_MASK + 1).fill(undefined);
// The same names as character codes, by slot: the input is matched against them (holdsCodesAt).
const KNOWN_CODES: Array<Uint8Array | undefined> = new Array<Uint8Array | undefined>(KNOWN_NAMES_MASK + 1).fill(undefined);
for (const page of Object.values(CODE_PAGES)) {
  for (const name of Object.keys(page)) {
    let hash = 0;
    for (let k = 0; k < name.length; k++) hash = nameHash(hash, name.charCodeAt(k));
    if (KNOWN_NAMES[hash & KNOWN_NAMES_MASK] !== undefined) continue;
    KNOWN_NAMES[hash & KNOWN_NAMES_MASK] = name;
    KNOWN_CODES[hash & KNOWN_NAMES_MASK] = codesOf(name);
  }
}

/**
 * By the KNOWN_NAMES slots of the last start tag's name and of the parent (followsKey): the
 * slot of the name that came next there last time (-1: none yet). The parent tells apart
 * what follows the same name in different places (after <CmdID> comes <MsgRef> in a Status,
 * <Data> in an Alert, <Item> in a Replace): keyed by the last name alone, a third of the
 * guesses missed on the bench session's requests, with the parent a sixth. Two keys can
 * share an entry; a guess is checked against the input either way.
 */
const FOLLOWS_MASK = 0x3fff;
const FOLLOWS = new Int16Array(FOLLOWS_MASK + 1).fill(-1);

function followsKey(lastSlot: number, parentSlot: number): number {
  return (Math.imul(lastSlot, 0x9e3779b1) ^ parentSlot) & FOLLOWS_MASK;
}

const METINF_NAMESPACE_CODES = codesOf(METINF_NAMESPACE);
const SYNCML_NAMESPACE_CODES = codesOf(SYNCML_NAMESPACE);
const METINF_XMLNS_CODES = codesOf(` xmlns="${METINF_NAMESPACE}"`);

/**
 * The namespace spelled as SyncML's writers spell it, between `from` and `to` (an xmlns
 * value), as the constant: most elements of a client's Meta carry one, and a slice, a
 * search for entities and a lower-casing each cost more than reading the element.
 */
function knownNamespaceAt(src: string, from: number, to: number): string | undefined {
  if (to - from === METINF_NAMESPACE.length && holdsCodesAt(src, from, METINF_NAMESPACE_CODES)) return METINF_NAMESPACE;
  if (to - from === SYNCML_NAMESPACE.length && holdsCodesAt(src, from, SYNCML_NAMESPACE_CODES)) return SYNCML_NAMESPACE;
  return undefined;
}

/** A namespace in lower case, which is how it is compared (the known ones without a new string). */
function lowerNamespace(xmlns: string): string {
  if (xmlns === METINF_NAMESPACE) return METINF_NAMESPACE;
  return xmlns === SYNCML_NAMESPACE ? SYNCML_NAMESPACE_LOWER : xmlns.toLowerCase();
}

/** Where `search` is next in `src` from `from` on, or the length of `src` if nowhere. */
function indexOrEnd(src: string, search: string, from: number): number {
  const at = src.indexOf(search, from);
  return at === -1 ? src.length : at;
}

/** Whether `src` holds `name` at `at`: a loop, cheaper than startsWith for the short names of SyncML. */
function holdsAt(src: string, at: number, name: string): boolean {
  if (at + name.length > src.length) return false;
  for (let k = 0; k < name.length; k++) if (src.charCodeAt(at + k) !== name.charCodeAt(k)) return false;
  return true;
}

/**
 * holdsAt for a known text given as its character codes: a third cheaper per name than
 * reading the characters of a second string (micro-benchmark on the bench session's names).
 */
function holdsCodesAt(src: string, at: number, codes: Uint8Array): boolean {
  if (at + codes.length > src.length) return false;
  for (let k = 0; k < codes.length; k++) if (src.charCodeAt(at + k) !== codes[k]) return false;
  return true;
}

/** An ASCII text as its character codes. */
function codesOf(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0));
}

/** One step of the name hash; kept within a small integer so Map lookups stay cheap. */
function nameHash(hash: number, code: number): number {
  return (Math.imul(hash, 31) + code) & 0x3fffffff;
}

/** Layout whitespace only (space, tab, line feed): what goes between elements. */
function isLayout(text: string): boolean {
  for (let k = 0; k < text.length; k++) {
    const code = text.charCodeAt(k);
    if (code !== 0x20 && code !== 0x09 && code !== 0x0a) return false;
  }
  return true;
}

/**
 * pending[from, to) as an array of its own. Most elements hold one text or a few elements:
 * an array literal is allocated inline, where slice() is a call into the runtime (about 5%
 * of parsing a DM message, measured old against new in one process).
 */
function childrenOf(pending: SyncContent[], from: number, to: number): SyncContent[] {
  switch (to - from) {
    case 0:
      return [];
    case 1:
      return [pending[from] as SyncContent];
    case 2:
      return [pending[from] as SyncContent, pending[from + 1] as SyncContent];
    case 3:
      return [pending[from] as SyncContent, pending[from + 1] as SyncContent, pending[from + 2] as SyncContent];
    default:
      return pending.slice(from, to);
  }
}

/** Placeholder children of an element whose end tag is not read yet (never seen outside the parser). */
const UNREAD: SyncContent[] = [];

class Parser {
  private pos = 0;
  /** Where the next "&" and "]]>" at or after `pos` are, or the end (contentText). */
  private nextAmp = -1;
  private nextCdataEnd = -1;
  // The open elements, innermost last, as parallel arrays rather than an object per element:
  // the element, IN_METINF_NAMESPACE | IN_META | its name's slot, and where its children start in `pending`.
  private readonly open: SyncElement[] = [];
  private readonly openFlags: number[] = [];
  private readonly openFrom: number[] = [];
  // The children read so far of every open element, in document order, `pendingLength` of
  // them. At an end tag an element's children become one array of exactly their size: an
  // array per element grown by push would reserve 16 slots at its first child.
  private readonly pending: SyncContent[] = [];
  private pendingLength = 0;
  private elements = 0;
  private root: SyncElement | undefined;
  /** KNOWN_NAMES slot of the last start tag's name (-1: none, or not a known name). */
  private lastSlot = -1;
  /** KNOWN_NAMES slot of the name readName last read (-1: not a known name). */
  private nameSlot = -1;

  constructor(
    private readonly src: string,
    private readonly limits: DecodeLimits,
  ) {}

  parse(): SyncElement {
    this.declaration();
    this.misc('before the root element');
    if (this.pos >= this.src.length) this.fail('XML message has no root element');
    this.content();
    this.misc('after the root element');
    if (this.pos < this.src.length) this.fail('content after the root element is not allowed');
    if (this.root === undefined) this.fail('XML message has no root element');
    return this.root;
  }

  private fail(message: string, at: number = this.pos): never {
    const before = this.src.slice(0, at);
    const line = before.split('\n').length;
    const column = at - before.lastIndexOf('\n');
    invalid(`${message} (line ${line}, column ${column})`);
  }

  private declaration(): void {
    // The declaration every client and our own writer sends, known good without the regex.
    if (this.src.startsWith(XML_DECLARATION, 0)) {
      this.pos = XML_DECLARATION.length;
      return;
    }
    if (!this.src.startsWith('<?xml', 0)) return;
    const next = this.src.charAt(5);
    // "<?xml-stylesheet ..." is a processing instruction, not the declaration.
    if (next !== ' ' && next !== '\t' && next !== '\n') return;
    DECLARATION.lastIndex = 0;
    const match = DECLARATION.exec(this.src);
    if (match === null) this.fail('malformed XML declaration');
    const encoding = match[3];
    if (encoding !== undefined && !/^(?:utf-?8|us-ascii)$/i.test(encoding)) {
      this.fail(`unsupported XML encoding "${encoding}": SyncML XML must be UTF-8`);
    }
    this.pos = DECLARATION.lastIndex;
  }

  /**
   * libwbxml and some Java clients write `<!DOCTYPE SyncML PUBLIC "..." "...">`. A DOCTYPE
   * that only names the DTD is skipped (never fetched); one with an internal subset could
   * declare entities and is refused.
   */
  private externalDoctype(): void {
    const match = EXTERNAL_DOCTYPE.exec(this.src.slice(this.pos, this.pos + 512));
    if (!match) this.fail('DOCTYPE declarations with an internal subset are not allowed: SyncML needs none and they enable entity expansion attacks');
    this.pos += match[0].length;
  }

  /** Whitespace and comments outside the root; anything else there is refused. */
  private misc(where: string): void {
    for (;;) {
      this.skipWhitespace();
      if (this.src.startsWith('<!--', this.pos)) {
        this.comment();
      } else if (this.src.startsWith('<!DOCTYPE', this.pos)) {
        this.externalDoctype();
      } else if (this.src.startsWith('<?', this.pos)) {
        this.processingInstruction();
      } else if (this.pos < this.src.length && this.src.charAt(this.pos) !== '<') {
        this.fail(`text ${where} is not allowed`);
      } else {
        return;
      }
    }
  }

  /** XML whitespace: space, tab, line feed (line breaks are already normalized). */
  private skipWhitespace(): void {
    const src = this.src;
    let pos = this.pos;
    for (;;) {
      const code = src.charCodeAt(pos);
      if (code !== 0x20 && code !== 0x09 && code !== 0x0a) break;
      pos += 1;
    }
    this.pos = pos;
  }

  private comment(): void {
    const end = this.src.indexOf('-->', this.pos + 4);
    if (end === -1) this.fail('unterminated comment');
    if (this.src.slice(this.pos + 4, end).includes('--')) this.fail('"--" is not allowed inside a comment');
    this.pos = end + 3;
  }

  private processingInstruction(): never {
    const declaration = /<\?xml[ \t\n?]/y;
    declaration.lastIndex = this.pos;
    this.fail(declaration.test(this.src) ? 'the XML declaration must come first' : 'processing instructions are not allowed');
  }

  /** The root element and everything in it, iteratively so depth cannot exhaust the stack. */
  private content(): void {
    const src = this.src;
    for (;;) {
      const depth = this.open.length;
      if (depth === 0 && this.root !== undefined) return;
      // Markup mostly follows markup: no search for the next "<" when we stand on one.
      const lt = src.charCodeAt(this.pos) === 0x3c ? this.pos : src.indexOf('<', this.pos);
      if (depth === 0) {
        // misc() guarantees we stand on '<' here.
        this.startTag();
        continue;
      }
      const top = this.open[depth - 1] as SyncElement;
      if (lt === -1) this.fail(`unclosed element <${top.name}>`, src.length);
      if (lt > this.pos) {
        this.text(this.contentText(lt));
        this.pos = lt;
      }
      const next = src.charCodeAt(lt + 1);
      if (next === 0x2f) {
        // "</"
        this.endTag(top);
      } else if (next !== 0x21 && next !== 0x3f) {
        // Neither "<!" nor "<?": the common case, an element.
        this.startTag();
      } else if (src.startsWith('<!--', lt)) {
        this.comment();
      } else if (src.startsWith('<![CDATA[', lt)) {
        const end = src.indexOf(']]>', lt + 9);
        if (end === -1) this.fail('unterminated CDATA section');
        this.text(src.slice(lt + 9, end));
        this.pos = end + 3;
      } else if (src.startsWith('<!DOCTYPE', lt)) {
        this.fail('DOCTYPE declarations are not allowed: SyncML needs none and they enable entity expansion attacks');
      } else if (src.startsWith('<!', lt)) {
        this.fail('markup declarations are not allowed');
      } else {
        // "<?"
        this.processingInstruction();
      }
    }
  }

  /** Text in the innermost open element. */
  private text(text: string): void {
    if (text === '') return;
    const at = this.pendingLength;
    const last = at > (this.openFrom[this.openFrom.length - 1] as number) ? this.pending[at - 1] : undefined;
    // Text split by comments or CDATA sections is still one text.
    if (typeof last === 'string') this.pending[at - 1] = last + text;
    else this.addPending(text);
  }

  private addPending(content: SyncContent): void {
    const at = this.pendingLength;
    // In order, so the array stays packed; a slot past the end is only ever the next one.
    if (at === this.pending.length) this.pending.push(content);
    else this.pending[at] = content;
    this.pendingLength = at + 1;
  }

  /**
   * The name of a start tag. SyncML's elements come in the same orders message after
   * message (CmdID, MsgRef, CmdRef, Cmd ...): the name that followed the last start tag's
   * name last time (FOLLOWS) is tried first, matched in place, before the name is scanned
   * and hashed. A guess is taken only where the input holds exactly it, so what is read
   * does not depend on the guess.
   */
  private readStartName(): string {
    const src = this.src;
    const start = this.pos;
    const last = this.lastSlot;
    const depth = this.openFlags.length;
    const parentSlot = depth === 0 ? 0 : (this.openFlags[depth - 1] as number) >> SLOT_SHIFT;
    const key = last < 0 ? -1 : followsKey(last, parentSlot);
    const guessSlot = key < 0 ? -1 : (FOLLOWS[key] as number);
    if (guessSlot >= 0) {
      const guess = KNOWN_CODES[guessSlot] as Uint8Array;
      if (holdsCodesAt(src, start, guess) && !isNameChar(src.charCodeAt(start + guess.length))) {
        this.pos = start + guess.length;
        this.lastSlot = guessSlot;
        return KNOWN_NAMES[guessSlot] as string;
      }
    }
    const name = this.readName('an element name after "<"');
    const slot = this.nameSlot;
    if (slot >= 0 && key >= 0) FOLLOWS[key] = slot;
    this.lastSlot = slot;
    return name;
  }

  private readName(what: string): string {
    const src = this.src;
    const start = this.pos;
    let code = src.charCodeAt(start);
    if (!isNameStart(code)) this.fail(`expected ${what}`);
    let hash = nameHash(0, code);
    let end = start + 1;
    while (isNameChar((code = src.charCodeAt(end)))) {
      hash = nameHash(hash, code);
      end += 1;
    }
    this.pos = end;
    const known = KNOWN_CODES[hash & KNOWN_NAMES_MASK];
    if (known !== undefined && known.length === end - start && holdsCodesAt(src, start, known)) {
      this.nameSlot = hash & KNOWN_NAMES_MASK;
      return KNOWN_NAMES[hash & KNOWN_NAMES_MASK] as string;
    }
    this.nameSlot = -1;
    return src.slice(start, end);
  }

  private startTag(): void {
    const start = this.pos;
    this.pos += 1;
    const name = this.readStartName();
    let xmlns: string | undefined;
    let selfClosing = false;
    // ` xmlns="syncml:metinf"` as clients write it on each MetInf element: read at once, to
    // the same result as the general reading below.
    if (holdsCodesAt(this.src, this.pos, METINF_XMLNS_CODES)) {
      xmlns = METINF_NAMESPACE;
      this.pos += METINF_XMLNS_CODES.length;
    }
    for (;;) {
      const before = this.pos;
      this.skipWhitespace();
      const code = this.src.charCodeAt(this.pos);
      if (code === 0x3e) {
        // ">"
        this.pos += 1;
        break;
      }
      if (code === 0x2f && this.src.charCodeAt(this.pos + 1) === 0x3e) {
        // "/>"
        this.pos += 2;
        selfClosing = true;
        break;
      }
      if (this.pos >= this.src.length) this.fail(`unterminated start tag <${name}>`, start);
      if (this.pos === before) this.fail(`malformed start tag <${name}>`);
      // xmlns, the one attribute SyncML has, is matched in place; any other is read for the error.
      if (this.src.startsWith('xmlns', this.pos) && !isAttributeNameChar(this.src.charCodeAt(this.pos + 5))) {
        this.pos += 5;
      } else {
        ATTRIBUTE_NAME.lastIndex = this.pos;
        const attribute = ATTRIBUTE_NAME.exec(this.src);
        if (attribute === null) this.fail(`malformed start tag <${name}>`);
        this.fail(`attribute "${attribute[0]}" on <${name}> is not allowed: SyncML uses no attributes`);
      }
      if (xmlns !== undefined) this.fail(`duplicate xmlns attribute on <${name}>`);
      this.skipWhitespace();
      if (this.src.charAt(this.pos) !== '=') this.fail(`expected "=" after xmlns on <${name}>`);
      this.pos += 1;
      this.skipWhitespace();
      const quote = this.src.charAt(this.pos);
      if (quote !== '"' && quote !== "'") this.fail(`attribute value on <${name}> must be quoted`);
      const end = this.src.indexOf(quote, this.pos + 1);
      if (end === -1) this.fail(`unterminated attribute value on <${name}>`);
      xmlns = knownNamespaceAt(this.src, this.pos + 1, end);
      if (xmlns === undefined) {
        const raw = this.src.slice(this.pos + 1, end);
        if (raw.includes('<')) this.fail(`"<" is not allowed in an attribute value on <${name}>`);
        xmlns = this.decodeText(raw, this.pos + 1);
      }
      this.pos = end + 1;
    }

    const depth = this.open.length;
    const parent = depth === 0 ? undefined : this.open[depth - 1];
    const parentFlags = depth === 0 ? 0 : (this.openFlags[depth - 1] as number);
    this.elements += 1;
    if (this.elements > this.limits.maxElements) {
      tooLarge(`XML message has more than ${this.limits.maxElements} elements`);
    }
    if (depth + 1 > this.limits.maxDepth) {
      tooLarge(`XML message nests elements deeper than ${this.limits.maxDepth} levels`);
    }

    let metinfNamespace = (parentFlags & IN_METINF_NAMESPACE) !== 0;
    if (parent === undefined) {
      if (name !== 'SyncML') this.fail(`root element must be <SyncML>, not <${name}>`, start);
      if (xmlns === undefined || lowerNamespace(xmlns) !== SYNCML_NAMESPACE_LOWER) {
        this.fail(`root element <SyncML> must declare xmlns="${SYNCML_NAMESPACE}"`, start);
      }
    } else if (xmlns !== undefined) {
      const value = lowerNamespace(xmlns);
      if (value === SYNCML_NAMESPACE_LOWER) {
        metinfNamespace = false;
      } else if (value === METINF_NAMESPACE) {
        // Clients put it on each MetInf element or (some) once on <Meta>; nowhere else is sane.
        if (name !== 'Meta' && !METINF_ELEMENTS.has(name)) {
          this.fail(`xmlns="${METINF_NAMESPACE}" is not allowed on <${name}>`, start);
        }
        metinfNamespace = true;
      } else {
        this.fail(`unknown namespace "${xmlns}" on <${name}>`, start);
      }
    }
    const inMeta = parent !== undefined && ((parentFlags & IN_META) !== 0 || parent.name === 'Meta');
    // The set last: most elements are neither in a MetInf namespace nor inside <Meta>.
    const isMetInf = name !== 'Meta' && (metinfNamespace || inMeta) && METINF_ELEMENTS.has(name);
    const page: Page = isMetInf ? 'metinf' : 'syncml';

    const element: SyncElement = { name, page, children: selfClosing ? [] : UNREAD };
    if (parent === undefined) this.root = element;
    else this.addPending(element);
    if (!selfClosing && !this.leaf(element)) {
      this.open.push(element);
      this.openFlags.push(((this.lastSlot + 1) << SLOT_SHIFT) | (metinfNamespace ? IN_METINF_NAMESPACE : 0) | (inMeta ? IN_META : 0));
      this.openFrom.push(this.pendingLength);
    }
  }

  /**
   * Reads the rest of a leaf written as `<Name>text</Name>`, most elements of a message, at
   * once: its text (decoded as content() would) and its end tag, with no push and pop of the
   * open element and no stop in content()'s loop. False, with nothing read, where anything
   * else follows the start tag (an element, a comment, CDATA, an end tag spelled otherwise):
   * content() then reads it in the general way.
   */
  private leaf(element: SyncElement): boolean {
    const src = this.src;
    const at = this.pos;
    const lt = src.charCodeAt(at) === 0x3c ? at : src.indexOf('<', at);
    if (lt === -1 || src.charCodeAt(lt + 1) !== 0x2f) return false;
    const name = element.name;
    const gt = lt + 2 + name.length;
    if (src.charCodeAt(gt) !== 0x3e) return false;
    // lastSlot is the slot of this element's name, read by readStartName just before.
    const slot = this.lastSlot;
    if (!(slot >= 0 ? holdsCodesAt(src, lt + 2, KNOWN_CODES[slot] as Uint8Array) : holdsAt(src, lt + 2, name))) return false;
    element.children = lt > at ? [this.contentText(lt)] : [];
    this.pos = gt + 1;
    return true;
  }

  private endTag(top: SyncElement): void {
    const start = this.pos;
    this.pos += 2;
    // The end tag that is due is matched in place, without reading its name into a new string.
    const due = top.name;
    const slot = ((this.openFlags[this.openFlags.length - 1] as number) >> SLOT_SHIFT) - 1;
    const holdsDue = slot >= 0 ? holdsCodesAt(this.src, this.pos, KNOWN_CODES[slot] as Uint8Array) : holdsAt(this.src, this.pos, due);
    let name: string;
    if (holdsDue && !isNameChar(this.src.charCodeAt(this.pos + due.length))) {
      name = due;
      this.pos += due.length;
    } else name = this.readName('an element name after "</"');
    this.skipWhitespace();
    if (this.src.charCodeAt(this.pos) !== 0x3e) this.fail(`malformed end tag </${name}>`, start);
    if (name !== top.name) this.fail(`end tag </${name}> does not match <${top.name}>`, start);
    this.pos += 1;
    this.open.pop();
    this.openFlags.pop();
    const from = this.openFrom.pop() as number;
    const pending = this.pending;
    let to = this.pendingLength;
    // Adjacent texts are joined as they are read, so more than one child means elements
    // among them: whitespace between elements is layout, not content, and is dropped. Text
    // in a leaf element (one child) is kept as is.
    if (to - from > 1) {
      let kept = from;
      for (let k = from; k < to; k++) {
        const child = pending[k] as SyncContent;
        if (typeof child !== 'string' || !isLayout(child)) pending[kept++] = child;
      }
      to = kept;
    }
    top.children = childrenOf(pending, from, to);
    this.pendingLength = from;
  }

  /**
   * The text from `pos` to `end` (the next "<"), decoded. Where the next "&" and the next
   * "]]>" lie is searched once and kept until the parse passes it: searched again in the
   * slice of every text, they cost two scans of all the text of a message.
   */
  private contentText(end: number): string {
    const src = this.src;
    const at = this.pos;
    if (this.nextCdataEnd < at) this.nextCdataEnd = indexOrEnd(src, ']]>', at);
    if (this.nextCdataEnd < end) this.fail('"]]>" is not allowed in text', this.nextCdataEnd);
    if (this.nextAmp < at) this.nextAmp = indexOrEnd(src, '&', at);
    const raw = src.slice(at, end);
    return this.nextAmp < end ? this.expandReferences(raw, at, this.nextAmp - at) : raw;
  }

  /** Expands the five predefined entities and character references; nothing else exists. */
  private decodeText(raw: string, at: number): string {
    const cdataEnd = raw.indexOf(']]>');
    if (cdataEnd !== -1) this.fail('"]]>" is not allowed in text', at + cdataEnd);
    const amp = raw.indexOf('&');
    return amp === -1 ? raw : this.expandReferences(raw, at, amp);
  }

  /** decodeText from the first "&" (at `amp` in `raw`) on. */
  private expandReferences(raw: string, at: number, first: number): string {
    let amp = first;
    let out = '';
    let from = 0;
    while (amp !== -1) {
      out += raw.slice(from, amp);
      const semicolon = raw.indexOf(';', amp + 1);
      // The longest valid reference is "&#x10FFFF;" (10 characters).
      if (semicolon === -1 || semicolon - amp > 10) this.fail('"&" must start an entity or character reference', at + amp);
      const reference = raw.slice(amp + 1, semicolon);
      out += this.expand(reference, at + amp);
      from = semicolon + 1;
      amp = raw.indexOf('&', from);
    }
    return out + raw.slice(from);
  }

  private expand(reference: string, at: number): string {
    const predefined = PREDEFINED_ENTITIES.get(reference);
    if (predefined !== undefined) return predefined;
    let code: number | undefined;
    if (/^#[0-9]{1,7}$/.test(reference)) code = Number.parseInt(reference.slice(1), 10);
    else if (/^#x[0-9A-Fa-f]{1,6}$/.test(reference)) code = Number.parseInt(reference.slice(2), 16);
    if (code === undefined) this.fail(`undefined entity "&${reference};": only the five XML entities are allowed`, at);
    const valid =
      code === 0x9 ||
      code === 0xa ||
      code === 0xd ||
      (code >= 0x20 && code <= 0xd7ff) ||
      (code >= 0xe000 && code <= 0xfffd) ||
      (code >= 0x10000 && code <= 0x10ffff);
    if (!valid) this.fail(`character reference "&${reference};" names a character XML does not allow`, at);
    return String.fromCodePoint(code);
  }
}

/**
 * Parses a SyncML XML document into the element tree. Refuses DOCTYPE, unknown entities,
 * attributes other than xmlns, processing instructions and non-SyncML roots with a
 * VALIDATION AppError, and input over `limits` with TOO_LARGE.
 */
export function parseXml(text: string | Uint8Array, limits: DecodeLimits = DEFAULT_LIMITS): SyncElement {
  // XML normalizes every line break to "\n" before parsing; a CR in data travels as &#13;.
  const decoded = decodeInput(text, limits);
  // Most messages hold neither a CR nor a forbidden character: one scan tells, instead of
  // a search for "\r" and then one for the forbidden ones.
  if (!CR_OR_FORBIDDEN.test(decoded)) return new Parser(decoded, limits).parse();
  const src = decoded.includes('\r') ? decoded.replace(/\r\n?/g, '\n') : decoded;
  const forbidden = FORBIDDEN_CHARACTER.exec(src);
  if (forbidden !== null) {
    invalid(`XML message contains the character ${describeCharacter(forbidden[0])}, which XML does not allow`);
  }
  return new Parser(src, limits).parse();
}

const ESCAPES: ReadonlyMap<string, string> = new Map([
  ['&', '&amp;'],
  ['<', '&lt;'],
  ['>', '&gt;'],
  ['\r', '&#13;'],
]);
const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const textEncoder = new TextEncoder();

// What escapeOther looks for: a forbidden character or one to escape.
const FORBIDDEN_OR_ESCAPED = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF&<>\r]/;

/** Text with something besides printable ASCII, tab and line feed: checked, then escaped. */
function escapeOther(text: string): string {
  if (!text.isWellFormed()) invalid('text contains a lone UTF-16 surrogate and cannot be written as XML');
  if (!FORBIDDEN_OR_ESCAPED.test(text)) return text;
  const forbidden = FORBIDDEN_CHARACTER.exec(text);
  if (forbidden !== null) invalid(`text contains the character ${describeCharacter(forbidden[0])}, which XML cannot carry`);
  // "\r" as a reference: a raw CR would be normalized away by the receiving parser.
  return text.replace(/[&<>\r]/g, (char) => ESCAPES.get(char) ?? char);
}

function bytesAsText(bytes: Uint8Array): string {
  let text: string;
  try {
    text = textDecoder.decode(bytes);
  } catch (error) {
    throw new AppError('VALIDATION', `binary data (${bytes.byteLength} bytes) cannot be carried in XML: it is not UTF-8 text`, {
      cause: error,
    });
  }
  // Control characters mean the bytes are binary, even where XML could technically carry them.
  if (/[^\P{Cc}\t\n\r]/u.test(text)) {
    invalid(`binary data (${bytes.byteLength} bytes) cannot be carried in XML: it contains control characters`);
  }
  return text;
}

/** The tags of one element name on one page, encoded once: a message writes the same few dozen again and again. */
interface Tags {
  open: Uint8Array;
  empty: Uint8Array;
  close: Uint8Array;
}

const SYNCML_XMLNS = ` xmlns="${SYNCML_NAMESPACE}"`;
const METINF_XMLNS = ` xmlns="${METINF_NAMESPACE}"`;
const tagsByName = new Map<string, Tags>();
const metinfTagsByName = new Map<string, Tags>();
const rootTags = new Map<string, Tags>();

function tagsOf(name: string, attributes: string, cache: Map<string, Tags>): Tags {
  const known = cache.get(name);
  if (known !== undefined) return known;
  if (!NAME_EXACT.test(name)) invalid(`"${name}" is not a valid XML element name`);
  const tags = {
    open: textEncoder.encode(`<${name}${attributes}>`),
    empty: textEncoder.encode(`<${name}${attributes}/>`),
    close: textEncoder.encode(`</${name}>`),
  };
  // Bounded: names come from code, but a caller could build trees of any names.
  if (cache.size < 1024) cache.set(name, tags);
  return tags;
}

/** The tags of an element below the root. */
function innerTags(name: string, page: Page): Tags {
  // xmlns on each MetInf element, never on <Meta>: libdmclient's parser fails on the latter.
  return page === 'metinf' && name !== 'Meta' ? tagsOf(name, METINF_XMLNS, metinfTagsByName) : tagsOf(name, '', tagsByName);
}

/** The buffer writers start with; one is kept between documents (KEPT_BUFFER_BYTES at most). */
const FIRST_BUFFER_BYTES = 16 * 1024;
const KEPT_BUFFER_BYTES = 256 * 1024;
let spareBuffer: Uint8Array | undefined = new Uint8Array(FIRST_BUFFER_BYTES);

/**
 * Writes a SyncML XML document as UTF-8 straight into a buffer that is reused from one
 * document to the next, copied out at its exact size at the end: string concatenation made
 * an object per piece, then a flat copy of the whole, then the encoded bytes. No layout
 * whitespace; xmlns on the root and on each MetInf element; an element with no content is
 * written self-closed (its start tag waits for its first content).
 */
class XmlWriter implements ElementSink {
  private out: Uint8Array;
  private length = 0;
  /** Tags of the open elements, innermost last. */
  private readonly openTags: Tags[] = [];
  /** The innermost open element's start tag is not written yet. */
  private startPending = false;
  private rootWritten = false;

  constructor() {
    this.out = spareBuffer ?? new Uint8Array(FIRST_BUFFER_BYTES);
    spareBuffer = undefined;
    this.writeBytes(XML_DECLARATION_BYTES);
  }

  open(name: string, page: Page): void {
    this.writeStart();
    let tags: Tags;
    if (this.openTags.length === 0) {
      if (this.rootWritten || name !== 'SyncML' || page !== 'syncml') invalid(`the root element must be <SyncML>, not <${name}>`);
      this.rootWritten = true;
      tags = tagsOf(name, SYNCML_XMLNS, rootTags);
    } else {
      tags = innerTags(name, page);
    }
    this.openTags.push(tags);
    this.startPending = true;
  }

  /** open, text, close in one go: no open element kept for it, its tags written as they are. */
  leaf(name: string, page: Page, text: string): void {
    if (this.openTags.length === 0) {
      // The root: open() refuses it or writes it with its xmlns.
      this.open(name, page);
      if (text !== '') this.text(text);
      this.close();
      return;
    }
    this.writeStart();
    const tags = innerTags(name, page);
    if (text === '') {
      this.writeBytes(tags.empty);
      return;
    }
    // The three parts under one reserve, copied with the position in a local.
    const open = tags.open;
    const close = tags.close;
    this.reserve(open.length + text.length + close.length);
    const out = this.out;
    const afterOpen = copyBytes(open, out, this.length);
    const afterText = copyPlainText(text, out, afterOpen);
    if (afterText === -1) {
      this.length = afterOpen;
      this.writeEncoded(escapeOther(text));
      this.writeBytes(close);
      return;
    }
    this.length = copyBytes(close, out, afterText);
  }

  text(text: string): void {
    this.writeStart();
    this.writeText(text);
  }

  bytes(bytes: Uint8Array): void {
    this.writeStart();
    this.writeText(bytesAsText(bytes));
  }

  close(): void {
    const tags = this.openTags.pop();
    if (tags === undefined) throw new Error('XmlWriter: close() without an open element');
    this.writeBytes(this.startPending ? tags.empty : tags.close);
    this.startPending = false;
  }

  /** The document, once its root is closed. */
  finish(): Uint8Array {
    if (!this.rootWritten || this.openTags.length > 0) throw new Error('XmlWriter: the root element is not closed');
    // Into Node's pool of small buffers: a typed array of its own (slice) cost a new
    // backing store per reply, more than writing the reply (bench/dm.ts).
    const document = Buffer.allocUnsafe(this.length);
    document.set(this.out.subarray(0, this.length));
    return document;
  }

  /** Gives the buffer back for the next document, unless it grew large. */
  release(): void {
    if (this.out.length <= KEPT_BUFFER_BYTES) spareBuffer = this.out;
  }

  private writeStart(): void {
    if (!this.startPending) return;
    this.startPending = false;
    this.writeBytes((this.openTags[this.openTags.length - 1] as Tags).open);
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.out.length) return;
    const grown = new Uint8Array(Math.max(this.out.length * 2, this.length + bytes));
    grown.set(this.out.subarray(0, this.length));
    this.out = grown;
  }

  private writeBytes(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.length = copyBytes(bytes, this.out, this.length);
  }

  private writeText(text: string): void {
    this.reserve(text.length);
    const at = copyPlainText(text, this.out, this.length);
    if (at === -1) this.writeEncoded(escapeOther(text));
    else this.length = at;
  }

  /** Any text, already escaped, as UTF-8 (from where the current text started). */
  private writeEncoded(text: string): void {
    // At most 3 UTF-8 bytes per UTF-16 code unit.
    this.reserve(text.length * 3);
    this.length += textEncoder.encodeInto(text, this.out.subarray(this.length)).written;
  }
}

const XML_DECLARATION_BYTES = textEncoder.encode(XML_DECLARATION);

/** Short byte runs (tags) copied in a loop: cheaper than a call to set() for a dozen bytes. Returns the end. */
function copyBytes(bytes: Uint8Array, out: Uint8Array, at: number): number {
  let to = at;
  for (let k = 0; k < bytes.length; k++) out[to++] = bytes[k] as number;
  return to;
}

/**
 * Most text is printable ASCII with nothing to escape: copied byte by byte as it is
 * checked, room for text.length bytes reserved. Returns the end, or -1 (some of it copied)
 * where the text needs escaping or is not all ASCII: escapeOther and UTF-8 then.
 */
function copyPlainText(text: string, out: Uint8Array, at: number): number {
  let to = at;
  for (let k = 0; k < text.length; k++) {
    const code = text.charCodeAt(k);
    if (code >= 0x20 && code < 0x7f ? code === 0x26 || code === 0x3c || code === 0x3e : code !== 0x09 && code !== 0x0a) return -1;
    out[to++] = code;
  }
  return to;
}

/**
 * A SyncML XML document in UTF-8, from what `fill` writes into the sink: one `<SyncML>`
 * root, written with xmlns. Opaque bytes are written as text when they are UTF-8 text;
 * binary data cannot go in XML (no base64 fallback: the receiver would not know to decode it).
 */
export function writeXml(fill: (sink: ElementSink) => void): Uint8Array {
  const writer = new XmlWriter();
  try {
    fill(writer);
    return writer.finish();
  } finally {
    writer.release();
  }
}

/** The tree as a SyncML XML document in UTF-8 (see writeXml). */
export function serializeXmlBytes(root: SyncElement): Uint8Array {
  if (root.name !== 'SyncML' || root.page !== 'syncml') invalid(`the root element must be <SyncML>, not <${root.name}>`);
  return writeXml((sink) => writeTree(sink, root));
}

/** serializeXmlBytes as a string. */
export function serializeXml(root: SyncElement): string {
  return textDecoder.decode(serializeXmlBytes(root));
}
