// The agent's OMA DM 1.2 client: one session from Package 1 to the server's closing
// message. It sends DevInfo (and any Generic Alerts), answers the md5 challenge, follows
// RespURI, answers every server command with a Status (Results after a successful Get),
// asks for more with Alert 1222 while the server's package has no Final, and stops when
// the server sends nothing but Statuses and Final. What a command does to the device is
// the tree's and the `exec` hook's business.
import { randomInt } from 'node:crypto';
import { AUTH_MD5, decodeNonce, md5Digest } from '../omadm/auth.ts';
import type { AlertCommand, Command, Item, ResultsCommand, StatusCommand, SyncHdr, SyncMessage } from '../omadm/codec/message.ts';
import { CONTENT_TYPE_WBXML, CONTENT_TYPE_XML } from '../omadm/codec/message.ts';
import { decodeMessage, encodeMessage } from '../omadm/codec/syncml.ts';
import { AppError } from '../errors.ts';
import { CHUNK_ACCEPTED, cutAt, dataBytes, END_OF_DATA_MISSING, fitChunk, OBJECT_TOO_LARGE, type OpenObject, takeChunk } from '../omadm/large-object.ts';
import { readUiAlert, type UiOutcome, type UiPrompt, uiStatusOf } from '../omadm/user-interaction.ts';
import { readBody, send } from './http.ts';
import type { DmTree } from './tree.ts';

export interface DmClientOptions {
  /** The server's DM endpoint (POST), e.g. http://host:8080/dm. */
  serverUrl: string;
  devId: string;
  username: string;
  password: string;
  encoding?: 'xml' | 'wbxml';
  /** Largest reply this client accepts (SyncHdr Meta MaxMsgSize). */
  maxMsgSize?: number;
  /**
   * Largest object this client takes in chunks (SyncHdr Meta MaxObjSize); left out, the
   * client declares none and takes no large objects (DM 1.2).
   */
  maxObjSize?: number;
  /** Messages in one session before the client gives up on a server that never ends it. */
  maxMessages?: number;
  idleTimeoutMs?: number;
  signal?: AbortSignal;
  /** Sees the bytes of every message sent and its reply (tests, traces). */
  tap?: (sent: Uint8Array, received: Uint8Array) => void;
}

/** A FUMO Generic Alert (1226) to carry in Package 1. */
export interface GenericAlert {
  /** The node that was Exec'd (Item Source), or the FUMO node an update request is about. */
  source: string;
  /** e.g. org.openmobilealliance.dm.firmwareupdate.downloadandupdate */
  type: string;
  /** The FUMO result reported; none for an update request (...devicerequest, ...userrequest). */
  resultCode?: number;
  correlator?: string;
  /** Data other than the bare result code (a SCOMO OperationComplete's <ResultCode>/<Identifier>), with its Format. */
  data?: string;
  format?: string;
}

export interface SessionRequest {
  /** The DM endpoint this session starts at (default: the client's `serverUrl`), for a device that spreads its sessions over several servers. */
  serverUrl?: string;
  /** 1201 client-initiated (polling), 1200 after a Package 0. */
  alert?: '1200' | '1201';
  /** For 1200: the Package 0 session id; otherwise a random one. */
  sessionId?: string;
  /** The NextNonce (base64) the server gave last, for a Cred in the first message. */
  clientNonce?: string;
  genericAlerts?: GenericAlert[];
  tree: DmTree;
  /** Runs (or accepts) an Exec; returns its Status code (202 = accepted, result later). */
  exec: (uri: string, correlator: string | undefined) => number;
  /** Called whenever the server issues a new nonce, so it is kept even if the session fails later. */
  onNonce?: (nonce: string) => void;
  /** The credentials of this session (default: the client's), read from the device's DMAcc at its start. */
  account?: { username: string; password: string };
  /** Shows a user-interaction alert (1100-1104) and returns the user's answer; default: accepted. */
  userAlert?: (prompt: UiPrompt) => { outcome: UiOutcome; values?: string[] };
  /**
   * Simulated fault (tests, simulator): once the device has carried out a reply's commands,
   * it drops the session when this says so, and their Statuses never reach the server.
   */
  dropAfter?: (commands: Command[]) => boolean;
}

export interface SessionResult {
  /** The server's Status for each Generic Alert, in order (undefined: none came). */
  alertStatuses: Array<number | undefined>;
  /** Text the server put in those Statuses' Items (why an update request got nothing), in order. */
  alertTexts: Array<string | undefined>;
  clientNonce?: string;
  messages: number;
  /** Alerts 1222 sent: server messages that came without Final (its package continued). */
  continuations: number;
  /** The server asked for credentials (407/401) before it accepted the session. */
  challenged: boolean;
  /** The server aborted the session (Alert 1223). */
  aborted: boolean;
  /** The device dropped the session (a simulated fault, `dropAfter`). */
  dropped?: boolean;
}

const GENERIC_ALERT = '1226';
const NEXT_MESSAGE = '1222';
const ABORT = '1223';

/**
 * A command of the client's next message. `large`: a Results value that may go as chunks
 * when it does not fit the server's MaxMsgSize (`from`: bytes already sent).
 */
type Outgoing = { make: (cmdId: number) => Command; alertIndex?: number; large?: LargeValue };

interface LargeValue {
  bytes: Uint8Array;
  from: number;
  /** The Results command with this Item (a chunk of the value, or all of it). */
  results: (cmdId: number, item: Item) => Command;
  item: Item;
}

/** A chunked Replace the server is sending, across its messages. */
interface Receiving extends OpenObject {
  parts: Uint8Array[];
}

export class DmClient {
  readonly contentType: string;

  constructor(readonly options: DmClientOptions) {
    this.contentType = options.encoding === 'wbxml' ? CONTENT_TYPE_WBXML : CONTENT_TYPE_XML;
  }

  async session(request: SessionRequest): Promise<SessionResult> {
    const { options } = this;
    const sessionId = request.sessionId ?? randomInt(1, 0x10000).toString(16).toUpperCase();
    let nonce = request.clientNonce;
    const server = request.serverUrl ?? options.serverUrl;
    let url = server;
    let msgId = 1;
    // Taken once: a Replace of the DMAcc credentials during the session counts from the next one.
    const account = request.account ?? { username: options.username, password: options.password };
    let cred = nonce ? this.cred(account, nonce) : undefined;
    let authTries = 0;
    let aborted = false;
    let continuations = 0;
    const alerts = request.genericAlerts ?? [];
    const alertStatuses: Array<number | undefined> = alerts.map(() => undefined);
    const alertTexts: Array<string | undefined> = alerts.map(() => undefined);
    let outgoing: Outgoing[] = this.package1(request, alerts);
    const limit = options.maxMessages ?? 30;
    // What the server said it takes, and the chunked Replace it is sending, if any.
    const peer: { maxMsgSize?: number; maxObjSize?: number; receiving?: Receiving } = {};

    for (let n = 1; n <= limit; n++) {
      const header: SyncHdr = {
        verDTD: '1.2',
        verProto: 'DM/1.2',
        sessionId,
        msgId,
        target: url,
        source: options.devId,
        sourceName: account.username,
        ...(cred ? { cred } : {}),
        meta: { maxMsgSize: options.maxMsgSize ?? 256 * 1024, ...(options.maxObjSize ? { maxObjSize: options.maxObjSize } : {}) },
      };
      const { made, final, carry } = this.pack(header, outgoing, peer.maxMsgSize);
      const reply = await this.post(url, { header, commands: made.map((m) => m.command), final });
      peer.maxMsgSize = reply.header.meta?.maxMsgSize ?? peer.maxMsgSize;
      peer.maxObjSize = reply.header.meta?.maxObjSize ?? peer.maxObjSize;
      const headerStatus = reply.commands.find((c): c is StatusCommand => c.kind === 'Status' && c.cmdRef === 0);
      if (!headerStatus) throw new AppError('VALIDATION', 'the DM server answered without a Status for our SyncHdr');
      const next = headerStatus.chal?.meta.nextNonce;
      if (next !== undefined && next !== '') {
        decodeNonce(next); // refuse garbage now rather than send a Cred that cannot match
        nonce = next;
        request.onNonce?.(next);
      }
      if (reply.header.respUri) url = reply.header.respUri;
      const code = Number(headerStatus.data);
      const ours = reply.commands.filter((c): c is StatusCommand => c.kind === 'Status' && c.msgRef === msgId && c.cmdRef !== 0);

      if (code === 401 || code === 407) {
        // Send again what was refused, now with a Cred over the nonce just issued.
        authTries += 1;
        const refused = new Set(ours.filter((s) => s.data === '401' || s.data === '407').map((s) => s.cmdRef));
        const again = made.filter((m, i) => refused.has(i + 1) && m.command.kind !== 'Status');
        if (!headerStatus.chal || !nonce || authTries > 2 || again.length === 0) {
          throw new AppError('UNAUTHORIZED', `the DM server refused our credentials (Status ${code}); check --username and --password`);
        }
        outgoing = [this.headerStatus(reply.header), ...again];
        cred = this.cred(account, nonce);
        msgId += 1;
        continue;
      }
      if (code !== 200 && code !== 212) throw new AppError('FORBIDDEN', `the DM server refused the session (SyncHdr Status ${code})`);
      // 212: authenticated for the session. 200 with a Chal: this message only, Cred again next time.
      cred = code === 200 && headerStatus.chal && nonce ? this.cred(account, nonce) : undefined;

      for (const status of ours) {
        const index = made[status.cmdRef - 1]?.alertIndex;
        if (index === undefined) continue;
        alertStatuses[index] = Number(status.data);
        const said = status.items.map((i) => (typeof i.data === 'string' ? i.data : i.data ? new TextDecoder().decode(i.data) : '')).join(' ').trim();
        if (said) alertTexts[index] = said;
      }
      const answer = this.answer(reply, request, peer);
      if (answer.aborted) aborted = true;
      if (request.dropAfter?.(reply.commands)) return { alertStatuses, alertTexts, ...(nonce ? { clientNonce: nonce } : {}), messages: n, continuations, challenged: authTries > 0, aborted, dropped: true };
      // The server gave up on our chunked value (Alert 1225, or a refusal of a chunk): its rest is not sent.
      const rest = answer.stopChunks ? carry.filter((o) => !o.large) : carry;
      if (aborted || (isClosing(reply) && rest.length === 0)) return { alertStatuses, alertTexts, ...(nonce ? { clientNonce: nonce } : {}), messages: n, continuations, challenged: authTries > 0, aborted };
      outgoing = [this.headerStatus(reply.header), ...answer.commands, ...rest];
      // While our own package continues (a value in chunks), we send; the server asks.
      if (!reply.final && rest.length === 0) {
        continuations += 1;
        outgoing.push({ make: (cmdId) => ({ kind: 'Alert', cmdId, data: NEXT_MESSAGE, items: [{ target: server, source: options.devId }] }) });
      }
      msgId += 1;
    }
    throw new AppError('VALIDATION', `the DM server did not end the session within ${limit} messages`);
  }

  /**
   * The next message within the server's MaxMsgSize: as many commands as fit; a Results
   * value that does not fit goes as a chunk (MoreData, Meta/Size on the first) that ends
   * the message, its rest and the commands after it in the next ones (`carry`). Final only
   * on the message that carries the last of them.
   */
  private pack(header: SyncHdr, outgoing: Outgoing[], maxMsgSize: number | undefined): { made: Array<Outgoing & { command: Command }>; final: boolean; carry: Outgoing[] } {
    const size = (commands: Command[]) => encodeMessage({ header, commands, final: true }, this.contentType).length;
    const all = outgoing.map((o, i) => ({ ...o, command: o.make(i + 1) }));
    if (maxMsgSize === undefined || size(all.map((m) => m.command)) <= maxMsgSize) return { made: all, final: true, carry: [] };
    const made: Array<Outgoing & { command: Command }> = [];
    for (const [i, o] of outgoing.entries()) {
      const whole = { ...o, command: o.make(i + 1) };
      if (size([...made.map((m) => m.command), whole.command]) <= maxMsgSize) {
        made.push(whole);
        continue;
      }
      const large = o.large;
      if (large) {
        const before = made.map((m) => m.command);
        const chunkAt = (n: number) => chunkOf(large, cutAt(large.bytes, large.from, n));
        const n = fitChunk(large.bytes.length - large.from, maxMsgSize, (bytes) => size([...before, large.results(i + 1, chunkAt(bytes).item)]));
        const chunk = chunkAt(n);
        if (n > 0 && chunk.end > large.from) {
          made.push({ ...o, command: large.results(i + 1, chunk.item) });
          const rest: Outgoing[] = chunk.end < large.bytes.length ? [largeOutgoing({ ...large, from: chunk.end })] : [];
          return { made, final: false, carry: [...rest, ...outgoing.slice(i + 1)] };
        }
      }
      if (made.length <= 1) throw new AppError('VALIDATION', `a ${whole.command.kind} does not fit the server's MaxMsgSize of ${maxMsgSize} bytes`);
      return { made, final: false, carry: outgoing.slice(i) };
    }
    return { made, final: true, carry: [] };
  }

  private cred(account: { username: string; password: string }, nonce: string) {
    return { meta: { type: AUTH_MD5, format: 'b64' }, data: md5Digest(account.username, account.password, decodeNonce(nonce)) };
  }

  private package1(request: SessionRequest, alerts: GenericAlert[]): Outgoing[] {
    const devInfo: Item[] = ['DevId', 'Man', 'Mod', 'DmV', 'Lang'].flatMap((name) => {
      const uri = `./DevInfo/${name}`;
      const got = request.tree.get(uri);
      return got.status === 200 ? [{ source: uri, meta: { format: 'chr', type: 'text/plain' }, data: got.value.data }] : [];
    });
    return [
      { make: (cmdId) => ({ kind: 'Alert', cmdId, data: request.alert ?? '1201', items: [] }) },
      { make: (cmdId) => ({ kind: 'Replace', cmdId, items: devInfo }) },
      ...alerts.map((alert, alertIndex) => ({
        alertIndex,
        make: (cmdId: number): AlertCommand => ({
          kind: 'Alert',
          cmdId,
          data: GENERIC_ALERT,
          ...(alert.correlator === undefined ? {} : { correlator: alert.correlator }),
          items: [
            alert.data !== undefined
              ? { source: alert.source, meta: { type: alert.type, format: alert.format ?? 'chr', ...(alert.resultCode === undefined || (alert.resultCode >= 1200 && alert.resultCode < 1300) ? {} : { mark: 'critical' }) }, data: alert.data }
              : alert.resultCode === undefined
              ? { source: alert.source, meta: { type: alert.type, format: 'chr' } }
              : {
                  source: alert.source,
                  meta: { type: alert.type, format: 'int', ...(alert.resultCode >= 200 && alert.resultCode < 300 ? {} : { mark: 'critical' }) },
                  data: String(alert.resultCode),
                },
          ],
        }),
      })),
    ];
  }

  private headerStatus(received: SyncHdr): Outgoing {
    return {
      make: (cmdId) => ({ kind: 'Status', cmdId, msgRef: received.msgId, cmdRef: 0, cmd: 'SyncHdr', targetRefs: [received.target], sourceRefs: [received.source], data: '200', items: [] }),
    };
  }

  /** Statuses (and Results) for every command of the server's message. */
  private answer(reply: SyncMessage, request: SessionRequest, server: { maxObjSize?: number; receiving?: Receiving }): { commands: Outgoing[]; aborted: boolean; stopChunks: boolean } {
    const msgRef = reply.header.msgId;
    const out: Outgoing[] = [];
    let aborted = false;
    let stopChunks = false;
    const maxObjSize = this.options.maxObjSize ?? 0;
    const status = (command: { cmdId: number; kind: string; noResp?: boolean }, items: Item[], code: number) => {
      if (command.noResp) return;
      out.push({
        make: (cmdId) => ({ kind: 'Status', cmdId, msgRef, cmdRef: command.cmdId, cmd: command.kind, targetRefs: items.flatMap((i) => (i.target ? [i.target] : [])), sourceRefs: [], data: String(code), items: [] }),
      });
    };
    const visit = (command: Command) => {
      switch (command.kind) {
        case 'Status':
          // The server refused a chunk of our value: its rest is not sent.
          if (command.cmd === 'Results' && !['200', String(CHUNK_ACCEPTED)].includes(command.data.trim())) stopChunks = true;
          return;
        case 'Results':
          return;
        case 'Get': {
          const found = command.items.map((item) => ({ uri: item.target ?? '', answer: request.tree.get(item.target ?? '') }));
          const missing = found.find((f) => f.answer.status !== 200);
          if (missing) return status(command, command.items, missing.answer.status);
          const value = found.length === 1 && found[0]?.answer.status === 200 ? new TextEncoder().encode(found[0].answer.value.data) : undefined;
          // A value past the server's MaxObjSize cannot reach it, whole or in chunks.
          if (value && server.maxObjSize !== undefined && value.length > server.maxObjSize) return status(command, command.items, OBJECT_TOO_LARGE);
          status(command, command.items, 200);
          if (command.noResp) return;
          const only = found[0];
          if (value && only && only.answer.status === 200) {
            const item: Item = { source: only.uri, meta: { format: only.answer.value.format, type: 'text/plain' } };
            out.push(largeOutgoing({ bytes: value, from: 0, item, results: (cmdId, chunk) => ({ kind: 'Results', cmdId, msgRef, cmdRef: command.cmdId, items: [chunk] }) }));
            return;
          }
          out.push({
            make: (cmdId): ResultsCommand => ({
              kind: 'Results',
              cmdId,
              msgRef,
              cmdRef: command.cmdId,
              items: found.map((f) => ({
                source: f.uri,
                meta: { format: f.answer.status === 200 ? f.answer.value.format : 'chr', type: 'text/plain' },
                data: f.answer.status === 200 ? f.answer.value.data : '',
              })),
            }),
          });
          return;
        }
        case 'Add':
        case 'Replace': {
          const codes = command.items.map((item) => this.receive(item, request, server, maxObjSize, () => {
            out.push({ make: (cmdId) => ({ kind: 'Alert', cmdId, data: END_OF_DATA_MISSING, items: [{ source: server.receiving?.uri ?? '' }] }) });
          }));
          return status(command, command.items, codes.find((c) => c !== 200) ?? 200);
        }
        case 'Delete': {
          const codes = command.items.map((item) => (item.target ? request.tree.delete(item.target) : 404));
          return status(command, command.items, codes.find((c) => c !== 200) ?? 200);
        }
        case 'Copy':
          return status(command, command.items, 406);
        case 'Exec': {
          const target = command.items[0]?.target;
          return status(command, command.items, target === undefined ? 404 : request.exec(target, command.correlator));
        }
        case 'Alert': {
          if (command.data === ABORT) aborted = true;
          if (command.data === END_OF_DATA_MISSING) stopChunks = true;
          let prompt: UiPrompt | undefined;
          try {
            prompt = readUiAlert(command);
          } catch (err) {
            if (err instanceof AppError) return status(command, [], 400);
            throw err;
          }
          if (!prompt) return status(command, [], 200);
          // A user-interaction alert: the user's answer is the Status (accepted when no one asks).
          const shown = prompt;
          const answered = uiStatusOf(shown.kind, request.userAlert?.(shown) ?? { outcome: 'accepted', values: [] });
          out.push({ make: (cmdId) => ({ kind: 'Status', cmdId, msgRef, cmdRef: command.cmdId, cmd: 'Alert', targetRefs: [], sourceRefs: [], data: String(answered.code), items: answered.items }) });
          return;
        }
        case 'Atomic':
        case 'Sequence':
          status(command, [], 200);
          for (const inner of command.commands) visit(inner);
          return;
      }
    };
    for (const command of reply.commands) visit(command);
    return { commands: out, aborted, stopChunks };
  }

  /**
   * One Item of the server's Replace/Add: set whole, or buffered as a chunk of a large
   * object (213) and set once the last came with the declared size (else 424; 413 past
   * our MaxObjSize). An Item that does not continue the object under way interrupts it.
   */
  private receive(item: Item, request: SessionRequest, server: { receiving?: Receiving }, maxObjSize: number, interrupted: () => void): number {
    const uri = item.target ?? '';
    if (server.receiving && server.receiving.uri !== uri) {
      interrupted();
      delete server.receiving;
    }
    const bytes = dataBytes(item.data);
    const verdict = takeChunk(server.receiving, { uri, ...(item.meta?.size === undefined ? {} : { size: item.meta.size }), bytes: bytes.length, moreData: item.moreData === true }, maxObjSize);
    switch (verdict.kind) {
      case 'whole':
        return uri ? request.tree.set(uri, textOf(item.data)) : 404;
      case 'buffered':
        server.receiving = { ...verdict.open, parts: [...(server.receiving?.parts ?? []), bytes] };
        return CHUNK_ACCEPTED;
      case 'refused':
        delete server.receiving;
        return verdict.status;
      case 'complete': {
        const whole = Buffer.concat([...(server.receiving?.parts ?? []), bytes]);
        delete server.receiving;
        return request.tree.set(uri, whole.toString('utf8'));
      }
    }
  }

  private async post(url: string, message: SyncMessage): Promise<SyncMessage> {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      throw new AppError('VALIDATION', `DM server URL ${JSON.stringify(url)} is not a URL`);
    }
    const body = encodeMessage(message, this.contentType);
    const res = await send(target, {
      method: 'POST',
      headers: { 'content-type': this.contentType, accept: this.contentType },
      body,
      ...(this.options.idleTimeoutMs ? { idleTimeoutMs: this.options.idleTimeoutMs } : {}),
      ...(this.options.signal ? { signal: this.options.signal } : {}),
    });
    const limit = Math.max(this.options.maxMsgSize ?? 256 * 1024, 64 * 1024) * 2;
    const bytes = await readBody(res, limit);
    this.options.tap?.(body, bytes);
    const type = String(res.headers['content-type'] ?? '');
    if (res.status !== 200 || !/syncml/i.test(type)) {
      const text = bytes.toString('utf8', 0, Math.min(bytes.length, 300)).trim();
      throw new AppError('IO', `the DM server answered HTTP ${res.status}${text ? `: ${text}` : ''}`);
    }
    // Read in the encoding the server answered in (it should be ours).
    return decodeMessage(bytes, type);
  }
}

/** The Item of a value's chunk [from, end): Meta/Size on the first, MoreData on all but the last. */
function chunkOf(large: LargeValue, end: number): { item: Item; end: number } {
  const first = large.from === 0;
  return {
    end,
    item: {
      ...large.item,
      ...(first ? { meta: { ...large.item.meta, size: large.bytes.length } } : {}),
      data: new TextDecoder().decode(large.bytes.subarray(large.from, end)),
      ...(end < large.bytes.length ? { moreData: true } : {}),
    },
  };
}

/** A value to send: whole when it fits, else from `from` on in chunks (pack). */
function largeOutgoing(large: LargeValue): Outgoing {
  return {
    large,
    make: (cmdId) => (large.from === 0 ? large.results(cmdId, { ...large.item, data: new TextDecoder().decode(large.bytes) }) : large.results(cmdId, chunkOf(large, large.bytes.length).item)),
  };
}

/** The server's message that ends a session: Final, and nothing but Statuses (and Results). */
export function isClosing(message: SyncMessage): boolean {
  return message.final && message.commands.every((c) => c.kind === 'Status' || c.kind === 'Results');
}

function textOf(data: Item['data']): string {
  if (data === undefined) return '';
  return typeof data === 'string' ? data : new TextDecoder().decode(data);
}
