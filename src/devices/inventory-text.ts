// A device's stored inventory (devices.inventory: JSON of uri -> { value, at }) with some
// nodes set, written into its text rather than through JSON.parse and JSON.stringify of
// the whole tree: a DM message that reports nodes (two of a session's three) did both, a
// few microseconds each for a tree of eight nodes, the largest part of the persist's own
// time (bench/dm.ts). The text is edited only where it is exactly what JSON.stringify
// writes for such a tree; anything else (or an edit this cannot make) takes the parse.
import type { InventoryTree } from './devices.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN = 0x7b;
const CLOSE = 0x7d;

/**
 * The stored inventory with each node of `nodes` set to its value, reported at `now`: as
 * JSON.stringify of the parsed tree with those nodes assigned (a node kept where it was,
 * a new one at the end), but for the order of integer-like URIs, which no parse tells apart.
 */
export function inventoryWith(stored: string, nodes: ReadonlyArray<readonly [uri: string, value: string]>, now: number): string {
  return edited(stored, nodes, now) ?? reparsed(stored, nodes, now);
}

function reparsed(stored: string, nodes: ReadonlyArray<readonly [string, string]>, now: number): string {
  const tree = JSON.parse(stored) as InventoryTree;
  for (const [uri, value] of nodes) tree[uri] = { value, at: now };
  return JSON.stringify(tree);
}

function nodeText(value: string, now: number): string {
  return `{"value":${jsonString(value)},"at":${Number.isSafeInteger(now) ? String(now) : JSON.stringify(now)}}`;
}

/**
 * JSON.stringify of a string: itself in quotes when it holds only printable ASCII other
 * than the quote and backslash (URIs and most values; a check cheaper than the call).
 */
function jsonString(text: string): string {
  for (let k = 0; k < text.length; k++) {
    const code = text.charCodeAt(k);
    if (code < 0x20 || code > 0x7e || code === QUOTE || code === BACKSLASH) return JSON.stringify(text);
  }
  return `"${text}"`;
}

/** The edit in the text, or undefined where the text is not a flat object of objects as JSON.stringify writes it. */
function edited(stored: string, nodes: ReadonlyArray<readonly [string, string]>, now: number): string | undefined {
  if (stored.charCodeAt(0) !== OPEN || stored.charCodeAt(stored.length - 1) !== CLOSE) return undefined;
  // Each node's key as JSON, and whether the text has it already.
  const keys: string[] = [];
  const found: boolean[] = [];
  for (const [uri] of nodes) {
    const key = jsonString(uri);
    // The same node twice: the last value stands, as with the assignments (the parse's way).
    if (keys.includes(key)) return undefined;
    keys.push(key);
    found.push(false);
  }
  // Members in the text's order; a node's value replaced where it stands.
  let out = '';
  let from = 0;
  let pos = 1;
  if (stored.length > 2) {
    for (;;) {
      if (stored.charCodeAt(pos) !== QUOTE) return undefined;
      const keyEnd = stringEnd(stored, pos);
      if (keyEnd < 0 || stored.charCodeAt(keyEnd) !== COLON) return undefined;
      const valueEnd = objectEnd(stored, keyEnd + 1);
      if (valueEnd < 0) return undefined;
      for (let k = 0; k < keys.length; k++) {
        const key = keys[k] as string;
        if (key.length !== keyEnd - pos || !stored.startsWith(key, pos)) continue;
        // The same key twice in the text: JSON.parse keeps the last, which this would not see alone.
        if (found[k]) return undefined;
        found[k] = true;
        out += stored.slice(from, keyEnd + 1) + nodeText((nodes[k] as readonly [string, string])[1], now);
        from = valueEnd;
      }
      pos = valueEnd;
      const next = stored.charCodeAt(pos);
      if (next === CLOSE) break;
      if (next !== COMMA) return undefined;
      pos += 1;
    }
    if (pos !== stored.length - 1) return undefined;
  }
  // New nodes at the end, in their order.
  out += stored.slice(from, stored.length - 1);
  let first = stored.length === 2;
  for (let k = 0; k < keys.length; k++) {
    if (found[k]) continue;
    out += `${first ? '' : ','}${keys[k] as string}:${nodeText((nodes[k] as readonly [string, string])[1], now)}`;
    first = false;
  }
  return `${out}}`;
}

/** Past the JSON string that opens at `at` (a quote), or -1 if it does not close. */
function stringEnd(text: string, at: number): number {
  let pos = at + 1;
  for (;;) {
    const quote = text.indexOf('"', pos);
    if (quote < 0) return -1;
    // A quote after an odd number of backslashes is part of the string.
    let slashes = 0;
    while (text.charCodeAt(quote - 1 - slashes) === BACKSLASH) slashes += 1;
    if (slashes % 2 === 0) return quote + 1;
    pos = quote + 1;
  }
}

/** Past the JSON object that opens at `at`, or -1 if none opens there or it does not close. */
function objectEnd(text: string, at: number): number {
  if (text.charCodeAt(at) !== OPEN) return -1;
  let depth = 0;
  let pos = at;
  while (pos < text.length) {
    const code = text.charCodeAt(pos);
    if (code === QUOTE) {
      pos = stringEnd(text, pos);
      if (pos < 0) return -1;
      continue;
    }
    if (code === OPEN) depth += 1;
    else if (code === CLOSE && --depth === 0) return pos + 1;
    pos += 1;
  }
  return -1;
}
