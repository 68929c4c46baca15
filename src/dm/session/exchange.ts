// What goes in and out of the DM endpoint, and the two kinds of answer every phase of a
// message may give early: a plain HTTP refusal (the bytes were not a message we read) or
// a SyncML reply that refuses the message as a whole.
import type { Chal, SyncMessage } from '../../omadm/codec/message.ts';
import { statusesForAll } from './client-commands.ts';
import { buildReply, type ReplyInput } from './reply.ts';

export interface DmRequest {
  body: Uint8Array;
  contentType: string;
  /** The session token from the RespURI the server handed out, if the device used it. */
  token?: string;
  hmacHeader?: string;
  /** This endpoint's URL as devices reach it (SyncHdr Source, base of RespURI). */
  serverUrl: string;
  /** The client's network address: failed authentications from one address are limited. */
  address: string;
}

export interface DmResponse {
  status: number;
  contentType: string;
  body: Uint8Array;
  headers?: Record<string, string>;
}

/** A phase that ends the message here says what to answer. */
export interface Answer {
  answer: DmResponse;
}

export const isAnswer = <T extends object>(result: T | Answer): result is Answer => 'answer' in result;

/** A decoded message, and how to answer it in its own encoding. */
export interface Received {
  message: SyncMessage;
  request: DmRequest;
  encode: (message: SyncMessage) => Uint8Array;
  /** The server's own MaxMsgSize (SyncHdr Meta of every reply). */
  ownMaxMsgSize: number;
}

/** "Not executed": the status of each command of a message refused as a whole. */
export const REFUSED_COMMAND = 215;

/** Error texts quote what the client sent; a hostile message does not get all of it back. */
const MAX_PLAIN_TEXT = 500;

export function plain(status: number, text: string, headers?: Record<string, string>): Answer {
  const shown = text.length > MAX_PLAIN_TEXT ? `${text.slice(0, MAX_PLAIN_TEXT)}...` : text;
  return { answer: { status, contentType: 'text/plain; charset=utf-8', body: new TextEncoder().encode(`${shown}\n`), ...(headers ? { headers } : {}) } };
}

/** A SyncML reply of these bytes, in the request's encoding. */
export function syncml(received: Received, bytes: Uint8Array): Answer {
  return { answer: { status: 200, contentType: received.request.contentType, body: bytes } };
}

/**
 * A reply that refuses the whole message: its header Status (with a challenge, for
 * authentication) and the same status for every command. Server MsgIDs answer client
 * MsgIDs one to one unless a session says otherwise.
 */
export function refusal(received: Received, headerStatus: number, commandStatus: number, options: { msgId?: number; chal?: Chal } = {}): Answer {
  const h = received.message.header;
  const input: ReplyInput = {
    received: h,
    headerStatus,
    statuses: statusesForAll(h, received.message.commands, commandStatus),
    commands: [],
    askForMore: false,
    msgId: options.msgId ?? h.msgId,
    serverUrl: received.request.serverUrl,
    ownMaxMsgSize: received.ownMaxMsgSize,
    encode: received.encode,
  };
  // Set after the literal, not spread into it (persist.ts).
  if (options.chal) input.chal = options.chal;
  return syncml(received, buildReply(input).bytes);
}
