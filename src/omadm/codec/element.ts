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
