// Test-only bridge between the SyncML element tree and XML text, so the WBXML tests can
// check our codec against libwbxml's xml2wbxml/wbxml2xml without the real XML codec.
// Just enough XML for SyncML: elements, xmlns (to pick the page), text, entities, CDATA.
import { isElement, type Page, type SyncContent, type SyncElement } from '../../src/omadm/codec/element.ts';

const SYNCML_NS = 'SYNCML:SYNCML1.2';
const METINF_NS = 'syncml:metinf';
const WHITESPACE_ONLY = /^[ \t\r\n]*$/;

/** XML text for a tree: the root and every change of page carry their xmlns. */
export function treeToXml(root: SyncElement): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${elementToXml(root, undefined)}\n`;
}

function elementToXml(element: SyncElement, parentPage: Page | undefined): string {
  const xmlns = element.page === parentPage ? '' : ` xmlns="${element.page === 'metinf' ? METINF_NS : SYNCML_NS}"`;
  if (element.children.length === 0) return `<${element.name}${xmlns}/>`;
  const inner = element.children
    .map((child) => (isElement(child) ? elementToXml(child, element.page) : escapeText(typeof child === 'string' ? child : new TextDecoder().decode(child))))
    .join('');
  return `<${element.name}${xmlns}>${inner}</${element.name}>`;
}

function escapeText(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

const TOKEN =
  /<!\[CDATA\[([\s\S]*?)\]\]>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>|<\/([A-Za-z_][\w.:-]*)\s*>|<([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|([^<]+)/y;
const XMLNS = /\sxmlns\s*=\s*(?:"([^"]*)"|'([^']*)')/;

/** Parses SyncML XML text; whitespace-only text between elements is dropped. */
export function xmlToTree(xml: string): SyncElement {
  const stack: SyncElement[] = [];
  let root: SyncElement | undefined;
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < xml.length) {
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(xml);
    if (match === null) throw new Error(`cannot parse XML at ${at}: ${JSON.stringify(xml.slice(at, at + 40))}`);
    const [, cdata, closing, opening, attributes = '', selfClosing, text] = match;
    const parent = stack.at(-1);
    if (cdata !== undefined || text !== undefined) {
      const content = cdata ?? decodeEntities(text ?? '');
      if (parent === undefined) {
        if (!WHITESPACE_ONLY.test(content)) throw new Error(`text outside the root at ${at}`);
      } else {
        parent.children.push(content);
      }
    } else if (opening !== undefined) {
      const xmlns = XMLNS.exec(attributes);
      const namespace = xmlns === null ? undefined : (xmlns[1] ?? xmlns[2]);
      const page: Page = namespace === undefined ? (parent?.page ?? 'syncml') : namespace.toLowerCase() === METINF_NS ? 'metinf' : 'syncml';
      const element: SyncElement = { name: opening, page, children: [] };
      if (parent === undefined) root = element;
      else parent.children.push(element);
      if (selfClosing === '/') tidy(element);
      else stack.push(element);
    } else if (closing !== undefined) {
      const open = stack.pop();
      if (open?.name !== closing) throw new Error(`</${closing}> at ${at} does not close <${open?.name ?? ''}>`);
      tidy(open);
    }
  }
  if (root === undefined || stack.length > 0) throw new Error('XML document is incomplete');
  return root;
}

function decodeEntities(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, entity: string) => {
    switch (entity) {
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'amp':
        return '&';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
      default:
        return String.fromCodePoint(entity.startsWith('#x') ? Number.parseInt(entity.slice(2), 16) : Number(entity.slice(1)));
    }
  });
}

function tidy(element: SyncElement): void {
  element.children = mergeText(element.children);
}

function mergeText(children: readonly SyncContent[]): SyncContent[] {
  const merged: SyncContent[] = [];
  for (const child of children) {
    const last = merged.at(-1);
    if (typeof child === 'string' && typeof last === 'string') merged[merged.length - 1] = last + child;
    else merged.push(child);
  }
  const hasElements = merged.some(isElement);
  return merged.filter((child) => typeof child !== 'string' || (child !== '' && !(hasElements && WHITESPACE_ONLY.test(child))));
}

/**
 * A tree as the XML side sees it: OPAQUE bytes become UTF-8 text (libwbxml turns OPAQUE into
 * CDATA and back), adjacent text merged, whitespace-only text between elements dropped.
 */
export function comparable(element: SyncElement): SyncElement {
  const children = element.children.map((child): SyncContent => {
    if (child instanceof Uint8Array) return new TextDecoder().decode(child);
    return isElement(child) ? comparable(child) : child;
  });
  return { name: element.name, page: element.page, children: mergeText(children) };
}
