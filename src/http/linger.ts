// A lingering close for a request answered before its body was read (an upload refused
// with 409 or 403 before any byte of the image was taken). Closing a socket that goes on
// receiving request bytes makes the kernel answer them with a TCP reset, and a client
// still sending its body can lose the answer it had not read yet (its next write fails
// with EPIPE and its socket is gone before the answer is parsed). So the rest of the body
// is read and thrown away, and the connection is closed, as before, once the answer is out
// and the body has ended or the client has closed its side. An attacker cannot hold the
// connection with it: past `maxBytes` discarded or `maxMs` after the refusal, whichever
// comes first, the connection is cut.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

export interface LingerLimits {
  /** Body bytes read and thrown away before giving up on the client. */
  maxBytes: number;
  /** How long the client may send nothing. */
  idleMs: number;
  /** How long after the refusal the connection may stay open at most. */
  maxMs: number;
}

/**
 * 16 MiB is well under a second on any link an upload is worth making on; 5 s and 30 s
 * are nginx's lingering_timeout and lingering_time (a slow client still sending is given
 * time, one gone quiet is not).
 */
export const REFUSAL_LINGER: LingerLimits = { maxBytes: 16 * 1024 * 1024, idleMs: 5_000, maxMs: 30_000 };

const lingering = new WeakSet<Socket>();

/**
 * Call when refusing `incoming` with `Connection: close` while its body may be unread.
 * Node closes such a connection with `socket.destroySoon()` once the answer is flushed;
 * for this socket that waits until the body has been read to its end (or the client has
 * gone, or a limit is reached). Nothing changes when the body was already read whole.
 */
export function lingerAfterAnswer(incoming: IncomingMessage, limits: LingerLimits = REFUSAL_LINGER): void {
  const socket = incoming.socket as Socket | null;
  if (!socket || socket.destroyed || incoming.complete || lingering.has(socket)) return;
  lingering.add(socket);
  const closeAfterAnswer = socket.destroySoon.bind(socket);
  const startedAt = socket.bytesRead;
  let answered = false;
  let bodyDone = false;
  const cut = () => {
    clearTimeout(timer);
    clearTimeout(idle);
    incoming.off('data', onData);
    socket.destroy();
  };
  const done = () => {
    bodyDone = true;
    if (answered) closeAfterAnswer();
  };
  const onData = () => {
    // Counted on the socket: what arrived, whoever read it.
    if (socket.bytesRead - startedAt > limits.maxBytes) cut();
    else idle.refresh();
  };
  const timer = setTimeout(cut, limits.maxMs);
  const idle = setTimeout(cut, limits.idleMs);
  timer.unref();
  idle.unref();
  socket.once('close', () => {
    clearTimeout(timer);
    clearTimeout(idle);
  });
  // Whoever was reading the body (a web stream over it, which pauses it when full) has
  // stopped: the bytes are thrown away here. Again once the answer is out, for a reader
  // that attached itself meanwhile.
  const discard = () => {
    incoming.removeAllListeners('data');
    incoming.on('data', onData);
    incoming.resume();
  };
  socket.destroySoon = () => {
    answered = true;
    if (bodyDone) closeAfterAnswer();
    else discard();
  };
  incoming.once('end', done);
  incoming.once('error', done);
  incoming.once('aborted', done);
  discard();
}
