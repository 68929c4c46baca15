// Maps the generic element tree to typed SyncML DM 1.2 messages and back, and picks the
// XML or WBXML encoding by content type. Reading is lenient about element order (real
// clients disagree on it) but strict about required parts: the VALIDATION messages name
// exactly what is missing, because the session layer turns them into SyncML status codes.
import { AppError } from '../../errors.ts';
import {
  concatBytes,
  DEFAULT_LIMITS,
  ElementTreeBuilder,
  isElement,
  type DecodeLimits,
  type ElementSink,
  type Page,
  type SyncContent,
  type SyncElement,
} from './element.ts';
import type {
  AlertCommand,
  Chal,
  Command,
  ContainerCommand,
  Cred,
  ExecCommand,
  Item,
  ItemCommand,
  Meta,
  ResultsCommand,
  StatusCommand,
  SyncHdr,
  SyncMessage,
} from './message.ts';
import { decodeWbxml, encodeWbxml } from './wbxml.ts';
import { parseXml, writeXml } from './xml.ts';

function invalid(message: string): never {
  throw new AppError('VALIDATION', message);
}

// ---------------------------------------------------------------------------------------
// Reading helpers

/**
 * Where in a message a part is read ("Status (CmdID 3) Item Source"), for error messages:
 * made a string only when an error names it. A message reads a few dozen parts, and a
 * string built for each, none of them ever shown, was a tenth of reading it.
 */
class Context {
  constructor(
    private readonly outer: Where,
    private readonly part: string,
  ) {}

  toString(): string {
    return `${String(this.outer)} ${this.part}`;
  }
}

/** A command named by its CmdID: "Status (CmdID 3)". */
class CommandContext {
  constructor(
    private readonly name: string,
    private readonly cmdId: number,
  ) {}

  toString(): string {
    return `${this.name} (CmdID ${this.cmdId})`;
  }
}

type Where = string | Context | CommandContext;

const utf8 = new TextDecoder('utf-8', { fatal: true });

// Loops, not find/filter with a callback: every message reads a few hundred fields. The
// name is compared before isElement is asked (opaque bytes have no name to match): its
// `instanceof Uint8Array` for every child looked at was a quarter of reading a message.
function elementsOf(parent: SyncElement): SyncElement[] {
  const out: SyncElement[] = [];
  for (const child of parent.children) if (typeof child !== 'string' && isElement(child)) out.push(child);
  return out;
}

function named(child: SyncContent, name: string): child is SyncElement {
  return typeof child !== 'string' && (child as SyncElement).name === name && isElement(child);
}

function first(parent: SyncElement, name: string): SyncElement | undefined {
  for (const child of parent.children) if (named(child, name)) return child;
  return undefined;
}

/** The scalar value of every child `name`, in order. */
function scalars(parent: SyncElement, name: string, where: Where): string[] {
  const out: string[] = [];
  for (const child of parent.children) if (named(child, name)) out.push(scalar(child, where));
  return out;
}

function required(parent: SyncElement, name: string, where: Where): SyncElement {
  return first(parent, name) ?? invalid(`${where} has no ${name}`);
}

/** The text of an element; WBXML OPAQUE parts are decoded as UTF-8. */
function textOf(el: SyncElement, where: Where): string {
  const only = el.children.length === 1 ? el.children[0] : undefined;
  if (typeof only === 'string') return only;
  let text = '';
  for (const child of el.children) {
    if (typeof child === 'string') {
      text += child;
    } else if (child instanceof Uint8Array) {
      try {
        text += utf8.decode(child);
      } catch (error) {
        throw new AppError('VALIDATION', `${where} ${el.name} is not UTF-8 text`, { cause: error });
      }
    } else {
      invalid(`${where} ${el.name} must hold text, not <${child.name}>`);
    }
  }
  return text;
}

/** Scalar values (codes, IDs, URIs, MetInf values) are tokens: layout whitespace is dropped. */
function scalar(el: SyncElement, where: Where): string {
  const text = textOf(el, where);
  // Most values start and end with printable ASCII other than a space, which trim() keeps:
  // checked here, without the call.
  return text !== '' && isPrintable(text.charCodeAt(0)) && isPrintable(text.charCodeAt(text.length - 1)) ? text : text.trim();
}

/** Printable ASCII other than space: never whitespace to trim(). */
function isPrintable(code: number): boolean {
  return code > 0x20 && code < 0x7f;
}

function integerValue(el: SyncElement, where: Where): number {
  const text = scalar(el, where);
  // 15 digits stay exact as a JavaScript number.
  let valid = text.length >= 1 && text.length <= 15;
  for (let k = 0; valid && k < text.length; k++) {
    const code = text.charCodeAt(k);
    valid = code >= 0x30 && code <= 0x39;
  }
  if (!valid) invalid(`${where} ${el.name} must be a non-negative integer, not "${text}"`);
  return Number(text);
}

function requiredInteger(parent: SyncElement, name: string, where: Where): number {
  return integerValue(required(parent, name, where), where);
}

function optionalInteger(parent: SyncElement, name: string, where: Where): number | undefined {
  const el = first(parent, name);
  return el === undefined ? undefined : integerValue(el, where);
}

function optionalScalar(parent: SyncElement, name: string, where: Where): string | undefined {
  const el = first(parent, name);
  return el === undefined ? undefined : scalar(el, where);
}


/** Item Data is kept exactly: text stays text, WBXML OPAQUE bytes stay bytes. */
function itemData(el: SyncElement, where: Where): string | Uint8Array {
  // The common case, one text, without the array of parts.
  const only = el.children.length === 1 ? el.children[0] : undefined;
  if (typeof only === 'string') return only;
  const parts: (string | Uint8Array)[] = [];
  for (const child of el.children) {
    if (isElement(child)) invalid(`${where} Data must hold text or opaque data, not <${child.name}>`);
    parts.push(child);
  }
  if (parts.every((part): part is string => typeof part === 'string')) return parts.join('');
  const single = parts[0];
  if (parts.length === 1 && single instanceof Uint8Array) return single;
  const encoder = new TextEncoder();
  return concatBytes(parts.map((part) => (typeof part === 'string' ? encoder.encode(part) : part)));
}

// ---------------------------------------------------------------------------------------
// Element tree -> typed message

function readMeta(el: SyncElement, where: Where): Meta {
  const meta: Meta = {};
  const context = new Context(where, 'Meta');
  for (const child of el.children) {
    if (!isElement(child)) continue;
    // A few encoders wrap the MetInf elements in <MetInf>; read through it, in place.
    if (child.name === 'MetInf') {
      for (const field of child.children) if (isElement(field)) readMetInf(meta, field, context);
    } else {
      readMetInf(meta, child, context);
    }
  }
  return meta;
}

/** One MetInf field into `meta`; the first of a name counts. */
function readMetInf(meta: Meta, field: SyncElement, context: Where): void {
  switch (field.name) {
    case 'Type':
      meta.type ??= scalar(field, context);
      break;
    case 'Format':
      meta.format ??= scalar(field, context);
      break;
    case 'Mark':
      meta.mark ??= scalar(field, context);
      break;
    case 'NextNonce':
      meta.nextNonce ??= scalar(field, context);
      break;
    case 'Size':
      meta.size ??= integerValue(field, context);
      break;
    case 'MaxMsgSize':
      meta.maxMsgSize ??= integerValue(field, context);
      break;
    case 'MaxObjSize':
      meta.maxObjSize ??= integerValue(field, context);
      break;
    default:
      // EMI, Version, Mem, Anchor ...: nothing fota acts on.
      break;
  }
}

function optionalMeta(parent: SyncElement, where: Where): Meta | undefined {
  const el = first(parent, 'Meta');
  return el === undefined ? undefined : readMeta(el, where);
}

function readCred(el: SyncElement, where: Where): Cred {
  const context = new Context(where, 'Cred');
  return { meta: optionalMeta(el, context) ?? {}, data: scalar(required(el, 'Data', context), context) };
}

function readChal(el: SyncElement, where: Where): Chal {
  return { meta: optionalMeta(el, new Context(where, 'Chal')) ?? {} };
}

function locUri(el: SyncElement, where: Where): string {
  const context = new Context(where, el.name);
  return scalar(required(el, 'LocURI', context), context);
}

function readItem(el: SyncElement, where: Where): Item {
  const context = new Context(where, 'Item');
  const item: Item = {};
  const target = first(el, 'Target');
  if (target !== undefined) item.target = locUri(target, context);
  const source = first(el, 'Source');
  if (source !== undefined) {
    item.source = locUri(source, context);
    const name = optionalScalar(source, 'LocName', new Context(context, 'Source'));
    if (name !== undefined) item.sourceName = name;
  }
  const meta = optionalMeta(el, context);
  if (meta !== undefined) item.meta = meta;
  const data = first(el, 'Data');
  if (data !== undefined) item.data = itemData(data, context);
  if (first(el, 'MoreData') !== undefined) item.moreData = true;
  return item;
}

function readItems(el: SyncElement, where: Where): Item[] {
  const items: Item[] = [];
  for (const child of el.children) if (named(child, 'Item')) items.push(readItem(child, where));
  return items;
}

function readHeader(hdr: SyncElement): SyncHdr {
  const where = 'SyncHdr';
  const source = required(hdr, 'Source', where);
  const header: SyncHdr = {
    verDTD: scalar(required(hdr, 'VerDTD', where), where),
    verProto: scalar(required(hdr, 'VerProto', where), where),
    sessionId: scalar(required(hdr, 'SessionID', where), where),
    msgId: requiredInteger(hdr, 'MsgID', where),
    target: locUri(required(hdr, 'Target', where), where),
    source: locUri(source, where),
  };
  const sourceName = optionalScalar(source, 'LocName', new Context(where, 'Source'));
  if (sourceName !== undefined) header.sourceName = sourceName;
  const respUri = optionalScalar(hdr, 'RespURI', where);
  if (respUri !== undefined) header.respUri = respUri;
  if (first(hdr, 'NoResp') !== undefined) header.noResp = true;
  const cred = first(hdr, 'Cred');
  if (cred !== undefined) header.cred = readCred(cred, where);
  const meta = optionalMeta(hdr, where);
  if (meta !== undefined) header.meta = meta;
  return header;
}

/** "Status (CmdID 3)": names a command in error messages once its CmdID is known. */
function commandId(el: SyncElement): { cmdId: number; where: Where } {
  const cmdId = requiredInteger(el, 'CmdID', el.name);
  return { cmdId, where: new CommandContext(el.name, cmdId) };
}

function readStatus(el: SyncElement): StatusCommand {
  const { cmdId, where } = commandId(el);
  const status: StatusCommand = {
    kind: 'Status',
    cmdId,
    msgRef: requiredInteger(el, 'MsgRef', where),
    cmdRef: requiredInteger(el, 'CmdRef', where),
    cmd: scalar(required(el, 'Cmd', where), where),
    targetRefs: scalars(el, 'TargetRef', where),
    sourceRefs: scalars(el, 'SourceRef', where),
    data: scalar(required(el, 'Data', where), where),
    items: readItems(el, where),
  };
  const cred = first(el, 'Cred');
  if (cred !== undefined) status.cred = readCred(cred, where);
  const chal = first(el, 'Chal');
  if (chal !== undefined) status.chal = readChal(chal, where);
  return status;
}

function readResults(el: SyncElement): ResultsCommand {
  const { cmdId, where } = commandId(el);
  const results: ResultsCommand = {
    kind: 'Results',
    cmdId,
    cmdRef: requiredInteger(el, 'CmdRef', where),
    items: readItems(el, where),
  };
  const msgRef = optionalInteger(el, 'MsgRef', where);
  if (msgRef !== undefined) results.msgRef = msgRef;
  const meta = optionalMeta(el, where);
  if (meta !== undefined) results.meta = meta;
  const targetRef = optionalScalar(el, 'TargetRef', where);
  if (targetRef !== undefined) results.targetRef = targetRef;
  const sourceRef = optionalScalar(el, 'SourceRef', where);
  if (sourceRef !== undefined) results.sourceRef = sourceRef;
  return results;
}

function readAlert(el: SyncElement): AlertCommand {
  const { cmdId, where } = commandId(el);
  // Order-independent lookups: the SyncML toolkit writes Correlator before Data.
  const alert: AlertCommand = {
    kind: 'Alert',
    cmdId,
    data: scalar(required(el, 'Data', where), where),
    items: readItems(el, where),
  };
  const correlator = optionalScalar(el, 'Correlator', where);
  if (correlator !== undefined) alert.correlator = correlator;
  return alert;
}

function readItemCommand(el: SyncElement, kind: ItemCommand['kind']): ItemCommand {
  const { cmdId, where } = commandId(el);
  const command: ItemCommand = { kind, cmdId, items: readItems(el, where) };
  if (first(el, 'NoResp') !== undefined) command.noResp = true;
  const meta = optionalMeta(el, where);
  if (meta !== undefined) command.meta = meta;
  return command;
}

function readExec(el: SyncElement): ExecCommand {
  const { cmdId, where } = commandId(el);
  const exec: ExecCommand = { kind: 'Exec', cmdId, items: readItems(el, where) };
  if (first(el, 'NoResp') !== undefined) exec.noResp = true;
  const meta = optionalMeta(el, where);
  if (meta !== undefined) exec.meta = meta;
  const correlator = optionalScalar(el, 'Correlator', where);
  if (correlator !== undefined) exec.correlator = correlator;
  return exec;
}

// Parts of Atomic/Sequence that are not nested commands.
const CONTAINER_FIELDS: ReadonlySet<string> = new Set(['CmdID', 'NoResp', 'Meta']);

function readContainer(el: SyncElement, kind: ContainerCommand['kind']): ContainerCommand {
  const { cmdId, where } = commandId(el);
  const commands = elementsOf(el)
    .filter((child) => !CONTAINER_FIELDS.has(child.name))
    .map((child) => readCommand(child, where));
  const container: ContainerCommand = { kind, cmdId, commands };
  if (first(el, 'NoResp') !== undefined) container.noResp = true;
  const meta = optionalMeta(el, where);
  if (meta !== undefined) container.meta = meta;
  return container;
}

function readCommand(el: SyncElement, where: Where): Command {
  switch (el.name) {
    case 'Status':
      return readStatus(el);
    case 'Results':
      return readResults(el);
    case 'Alert':
      return readAlert(el);
    case 'Add':
    case 'Replace':
    case 'Delete':
    case 'Copy':
    case 'Get':
      return readItemCommand(el, el.name);
    case 'Exec':
      return readExec(el);
    case 'Atomic':
    case 'Sequence':
      return readContainer(el, el.name);
    default:
      return invalid(`unsupported command <${el.name}> in ${where}`);
  }
}

/** Reads a decoded `<SyncML>` tree as a typed message. */
export function toMessage(root: SyncElement): SyncMessage {
  if (root.name !== 'SyncML') invalid(`root element must be <SyncML>, not <${root.name}>`);
  const header = readHeader(required(root, 'SyncHdr', 'SyncML'));
  const body = required(root, 'SyncBody', 'SyncML');
  const commands: Command[] = [];
  let final = false;
  for (const child of body.children) {
    if (!isElement(child)) continue;
    if (child.name === 'Final') final = true;
    else commands.push(readCommand(child, 'SyncBody'));
  }
  return { header, commands, final };
}

// ---------------------------------------------------------------------------------------
// Typed message -> elements, written into a sink: XML bytes directly, or a tree (WBXML, fromMessage)

function leaf(sink: ElementSink, name: string, value: string, page: Page = 'syncml'): void {
  sink.leaf(name, page, value);
}

function empty(sink: ElementSink, name: string): void {
  sink.open(name, 'syncml');
  sink.close();
}

function integer(sink: ElementSink, name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) invalid(`${name} must be a non-negative integer, not ${value}`);
  leaf(sink, name, String(value));
}

function metinf(sink: ElementSink, name: string, value: string | number): void {
  if (typeof value === 'number' && (!Number.isSafeInteger(value) || value < 0)) {
    invalid(`Meta ${name} must be a non-negative integer, not ${value}`);
  }
  leaf(sink, name, String(value), 'metinf');
}

function writeMeta(sink: ElementSink, meta: Meta): void {
  sink.open('Meta', 'syncml');
  if (meta.type !== undefined) metinf(sink, 'Type', meta.type);
  if (meta.format !== undefined) metinf(sink, 'Format', meta.format);
  if (meta.mark !== undefined) metinf(sink, 'Mark', meta.mark);
  if (meta.size !== undefined) metinf(sink, 'Size', meta.size);
  if (meta.nextNonce !== undefined) metinf(sink, 'NextNonce', meta.nextNonce);
  if (meta.maxMsgSize !== undefined) metinf(sink, 'MaxMsgSize', meta.maxMsgSize);
  if (meta.maxObjSize !== undefined) metinf(sink, 'MaxObjSize', meta.maxObjSize);
  sink.close();
}

function hasFields(meta: Meta): boolean {
  for (const key in meta) if (meta[key as keyof Meta] !== undefined) return true;
  return false;
}

function writeCred(sink: ElementSink, cred: Cred): void {
  sink.open('Cred', 'syncml');
  // Cred's Meta is optional on the wire (absent = auth-basic, b64); Chal's is required.
  if (hasFields(cred.meta)) writeMeta(sink, cred.meta);
  leaf(sink, 'Data', cred.data);
  sink.close();
}

function location(sink: ElementSink, name: 'Target' | 'Source', uri: string, locName?: string): void {
  sink.open(name, 'syncml');
  leaf(sink, 'LocURI', uri);
  if (locName !== undefined) leaf(sink, 'LocName', locName);
  sink.close();
}

function writeItem(sink: ElementSink, item: Item): void {
  if (item.source === undefined && item.sourceName !== undefined) invalid('Item has a sourceName but no source');
  sink.open('Item', 'syncml');
  if (item.target !== undefined) location(sink, 'Target', item.target);
  if (item.source !== undefined) location(sink, 'Source', item.source, item.sourceName);
  if (item.meta !== undefined) writeMeta(sink, item.meta);
  if (typeof item.data === 'string') {
    leaf(sink, 'Data', item.data);
  } else if (item.data !== undefined) {
    sink.open('Data', 'syncml');
    sink.bytes(item.data);
    sink.close();
  }
  if (item.moreData === true) empty(sink, 'MoreData');
  sink.close();
}

function writeItems(sink: ElementSink, list: Item[]): void {
  for (const item of list) writeItem(sink, item);
}

function writeHeader(sink: ElementSink, header: SyncHdr): void {
  sink.open('SyncHdr', 'syncml');
  leaf(sink, 'VerDTD', header.verDTD);
  leaf(sink, 'VerProto', header.verProto);
  leaf(sink, 'SessionID', header.sessionId);
  integer(sink, 'MsgID', header.msgId);
  location(sink, 'Target', header.target);
  location(sink, 'Source', header.source, header.sourceName);
  if (header.respUri !== undefined) leaf(sink, 'RespURI', header.respUri);
  if (header.noResp === true) empty(sink, 'NoResp');
  if (header.cred !== undefined) writeCred(sink, header.cred);
  if (header.meta !== undefined) writeMeta(sink, header.meta);
  sink.close();
}

/** CmdID, NoResp?, Meta?: the common opening of Add/Replace/Delete/Copy/Get/Exec/Atomic/Sequence. */
function opening(sink: ElementSink, command: { cmdId: number; noResp?: boolean; meta?: Meta }): void {
  integer(sink, 'CmdID', command.cmdId);
  if (command.noResp === true) empty(sink, 'NoResp');
  if (command.meta !== undefined) writeMeta(sink, command.meta);
}

function writeCommand(sink: ElementSink, command: Command): void {
  // Children in DTD order.
  sink.open(command.kind, 'syncml');
  switch (command.kind) {
    case 'Status':
      integer(sink, 'CmdID', command.cmdId);
      integer(sink, 'MsgRef', command.msgRef);
      integer(sink, 'CmdRef', command.cmdRef);
      leaf(sink, 'Cmd', command.cmd);
      for (const ref of command.targetRefs) leaf(sink, 'TargetRef', ref);
      for (const ref of command.sourceRefs) leaf(sink, 'SourceRef', ref);
      if (command.cred !== undefined) writeCred(sink, command.cred);
      if (command.chal !== undefined) {
        sink.open('Chal', 'syncml');
        writeMeta(sink, command.chal.meta);
        sink.close();
      }
      leaf(sink, 'Data', command.data);
      writeItems(sink, command.items);
      break;
    case 'Results':
      integer(sink, 'CmdID', command.cmdId);
      if (command.msgRef !== undefined) integer(sink, 'MsgRef', command.msgRef);
      integer(sink, 'CmdRef', command.cmdRef);
      if (command.meta !== undefined) writeMeta(sink, command.meta);
      if (command.targetRef !== undefined) leaf(sink, 'TargetRef', command.targetRef);
      if (command.sourceRef !== undefined) leaf(sink, 'SourceRef', command.sourceRef);
      writeItems(sink, command.items);
      break;
    case 'Alert':
      integer(sink, 'CmdID', command.cmdId);
      leaf(sink, 'Data', command.data);
      if (command.correlator !== undefined) leaf(sink, 'Correlator', command.correlator);
      writeItems(sink, command.items);
      break;
    case 'Exec':
      opening(sink, command);
      if (command.correlator !== undefined) leaf(sink, 'Correlator', command.correlator);
      writeItems(sink, command.items);
      break;
    case 'Atomic':
    case 'Sequence':
      opening(sink, command);
      for (const inner of command.commands) writeCommand(sink, inner);
      break;
    case 'Add':
    case 'Replace':
    case 'Delete':
    case 'Copy':
    case 'Get':
      opening(sink, command);
      writeItems(sink, command.items);
      break;
  }
  sink.close();
}

/** Writes a typed message into a sink, children in the order the DTD gives. */
function writeMessage(sink: ElementSink, message: SyncMessage): void {
  sink.open('SyncML', 'syncml');
  writeHeader(sink, message.header);
  sink.open('SyncBody', 'syncml');
  for (const command of message.commands) writeCommand(sink, command);
  if (message.final) empty(sink, 'Final');
  sink.close();
  sink.close();
}

/** Builds the `<SyncML>` tree of a typed message, children in the order the DTD gives. */
export function fromMessage(message: SyncMessage): SyncElement {
  const builder = new ElementTreeBuilder();
  writeMessage(builder, message);
  return builder.root();
}

// ---------------------------------------------------------------------------------------
// Bytes by content type

export type SyncEncoding = 'xml' | 'wbxml';

const ENCODINGS: Readonly<Record<string, SyncEncoding>> = {
  'application/vnd.syncml.dm+xml': 'xml',
  // Some clients post the SyncML DS types for DM; accept both.
  'application/vnd.syncml+xml': 'xml',
  'application/vnd.syncml.dm+wbxml': 'wbxml',
  'application/vnd.syncml+wbxml': 'wbxml',
};

/**
 * The encoding a content type names, ignoring parameters and case. Throws VALIDATION with
 * a message starting "unsupported media type" for anything else, so the HTTP layer can
 * call this first and answer 415.
 */
export function encodingOf(contentType: string): SyncEncoding {
  // The common case first: the media type exactly as the table spells it (each message
  // asks for its encoding a few times).
  const exact = Object.hasOwn(ENCODINGS, contentType) ? ENCODINGS[contentType] : undefined;
  if (exact !== undefined) return exact;
  const mediaType = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  const encoding = Object.hasOwn(ENCODINGS, mediaType) ? ENCODINGS[mediaType] : undefined;
  if (encoding === undefined) {
    invalid(
      `unsupported media type "${mediaType}": expected application/vnd.syncml.dm+xml or application/vnd.syncml.dm+wbxml`,
    );
  }
  return encoding;
}

/** Decodes a request body in the encoding its content type names. */
export function decodeMessage(bytes: Uint8Array, contentType: string, limits: DecodeLimits = DEFAULT_LIMITS): SyncMessage {
  const root = encodingOf(contentType) === 'xml' ? parseXml(bytes, limits) : decodeWbxml(bytes, limits);
  return toMessage(root);
}

/** Encodes a message in the encoding the content type names (answer in the request's). */
export function encodeMessage(message: SyncMessage, contentType: string): Uint8Array {
  // XML is written straight from the message; WBXML from its tree.
  return encodingOf(contentType) === 'xml' ? writeXml((sink) => writeMessage(sink, message)) : encodeWbxml(fromMessage(message));
}
