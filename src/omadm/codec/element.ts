// The generic element tree both SyncML encodings decode to and encode from. XML and WBXML
// differ only in bytes; everything above the codec works on this tree (and on the typed
// messages of message.ts built from it).

/** Which code page / namespace an element belongs to: SyncML itself or MetInf. */
export type Page = 'syncml' | 'metinf';

export interface SyncElement {
  name: string;
  page: Page;
  /** Text, opaque bytes (WBXML OPAQUE) and child elements, in document order. */
  children: SyncContent[];
}

export type SyncContent = SyncElement | string | Uint8Array;

/** Limits every decoder enforces, so hostile input fails fast with a clear error. */
export interface DecodeLimits {
  /** Bytes of input; larger input is refused before parsing. */
  maxBytes: number;
  /** Element nesting depth. */
  maxDepth: number;
  /** Elements in the whole document. */
  maxElements: number;
}

export const DEFAULT_LIMITS: DecodeLimits = { maxBytes: 1024 * 1024, maxDepth: 32, maxElements: 20_000 };

export function element(name: string, children: SyncContent[] = [], page: Page = 'syncml'): SyncElement {
  return { name, page, children };
}

export function isElement(content: SyncContent | undefined): content is SyncElement {
  return typeof content === 'object' && content !== null && !(content instanceof Uint8Array);
}

/** Joins byte pieces (adjacent OPAQUE or Data parts) into one array. */
export function concatBytes(pieces: readonly Uint8Array[]): Uint8Array {
  if (pieces.length === 1 && pieces[0] !== undefined) return pieces[0];
  const joined = new Uint8Array(pieces.reduce((total, piece) => total + piece.length, 0));
  let at = 0;
  for (const piece of pieces) {
    joined.set(piece, at);
    at += piece.length;
  }
  return joined;
}

/**
 * What a document is written into, element by element: a tree (ElementTreeBuilder, for
 * WBXML and for callers that want the tree) or XML bytes directly (xml.ts), so a message
 * being answered need not become a tree first.
 */
export interface ElementSink {
  open(name: string, page: Page): void;
  text(text: string): void;
  bytes(bytes: Uint8Array): void;
  close(): void;
  /** open, text (none when ''), close: most elements of a message are such leaves. */
  leaf(name: string, page: Page, text: string): void;
}

/** Writes an element tree into a sink. */
export function writeTree(sink: ElementSink, el: SyncElement): void {
  sink.open(el.name, el.page);
  const children = el.children;
  for (let k = 0; k < children.length; k++) {
    const child = children[k] as SyncContent;
    if (typeof child === 'string') sink.text(child);
    else if (child instanceof Uint8Array) sink.bytes(child);
    else writeTree(sink, child);
  }
  sink.close();
}

/** Placeholder children of an element not closed yet (never seen outside the builder). */
const NOT_CLOSED: SyncContent[] = [];

/**
 * Builds the tree a sink is given. The children of every open element wait on one stack and
 * become an array of exactly their size when the element closes (arrays grown by push
 * reserve 16 slots at the first).
 */
export class ElementTreeBuilder implements ElementSink {
  private readonly opened: SyncElement[] = [];
  private readonly openedFrom: number[] = [];
  private readonly pending: SyncContent[] = [];
  private pendingLength = 0;
  private built: SyncElement | undefined;

  open(name: string, page: Page): void {
    const el: SyncElement = { name, page, children: NOT_CLOSED };
    if (this.opened.length === 0) {
      if (this.built !== undefined) throw new Error('ElementTreeBuilder: a second root element');
      this.built = el;
    } else {
      this.add(el);
    }
    this.opened.push(el);
    this.openedFrom.push(this.pendingLength);
  }

  text(text: string): void {
    this.add(text);
  }

  bytes(bytes: Uint8Array): void {
    this.add(bytes);
  }

  leaf(name: string, page: Page, text: string): void {
    this.open(name, page);
    if (text !== '') this.text(text);
    this.close();
  }

  close(): void {
    const el = this.opened.pop();
    const from = this.openedFrom.pop();
    if (el === undefined || from === undefined) throw new Error('ElementTreeBuilder: close() without an open element');
    el.children = this.pendingLength === from ? [] : this.pending.slice(from, this.pendingLength);
    this.pendingLength = from;
  }

  /** The tree, once its root is closed. */
  root(): SyncElement {
    if (this.built === undefined || this.opened.length > 0) throw new Error('ElementTreeBuilder: the root element is not closed');
    return this.built;
  }

  private add(content: SyncContent): void {
    if (this.opened.length === 0) throw new Error('ElementTreeBuilder: content outside the root element');
    const at = this.pendingLength;
    // In order, so the array stays packed.
    if (at === this.pending.length) this.pending.push(content);
    else this.pending[at] = content;
    this.pendingLength = at + 1;
  }
}
