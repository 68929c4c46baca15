// Downloads handed to the kernel: the response's head goes out through Node, then the
// package's bytes go from the file to the socket by sendfile(2) (native/sendfile), never
// through a JavaScript buffer. Node has no sendfile of its own; copying each byte into
// the socket was most of a download's CPU (bench:download: 0.28 of 0.41 CPU s per GiB in
// the kernel for that copy alone, against nginx's 0.10 with sendfile).
//
// Used for a plain TCP connection whose response owns its socket, a package in the local
// artifact directory, and no bandwidth budget (the budget meters chunks in JavaScript);
// anything else, or a server where the addon did not build, sends through send.ts.
import { constants } from 'node:os';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { AppError } from '../errors.ts';
import { OpenFiles } from './open-files.ts';
import type { MeteredBody } from './serve.ts';
import { type NodeSocket, type SendfileAddon, sendfileAddon, socketFdOf } from './sendfile-addon.ts';
import { type FileRange, WRITE_BYTES } from './source.ts';
import { cutOffWhenStalled } from './stall.ts';

/**
 * The most one call hands the kernel before the event loop gets a turn, as send.ts writes
 * (WRITE_BYTES): other requests are answered in between, and a client that hangs up is
 * seen before the kernel has taken the whole package on its behalf and it is counted.
 */
const BYTES_PER_TURN = WRITE_BYTES;

/** The process's package files open for sendfile (a descriptor is the process's to share). */
let openFiles: OpenFiles | undefined;

/**
 * The connection under `outgoing` when sendfile can write to it: plain TCP (TLS must
 * encrypt in JavaScript), and the socket this response owns now (a pipelined response
 * waiting for the one before it has none yet).
 */
export function sendfileSocket(outgoing: ServerResponse): Socket | undefined {
  const socket = outgoing.socket as NodeSocket | null;
  if (!socket || socket.encrypted || socket._httpMessage !== outgoing || socket.destroyed) return undefined;
  return socketFdOf(socket) === undefined ? undefined : socket;
}

/**
 * Sends `file` as the body of `outgoing`, whose head is set (writeHead) but not yet
 * written. Counts what the socket took, as send.ts does: a client that hangs up is
 * charged for that and no more. The file is opened (or found open) before the head goes
 * out, so a file gone by then still breaks the response off before any byte of it.
 */
export function sendFileToNode(outgoing: ServerResponse, socket: Socket, body: MeteredBody, file: FileRange, log: Logger, stallMs: number): void {
  const addon = sendfileAddon as SendfileAddon;
  const { source, done } = body;
  const length = file.end - file.start + 1;
  openFiles ??= new OpenFiles((err) => log.error({ err }, 'cannot close a package file'));
  const opened = openFiles.acquire(file.path, file.version);
  /** Bytes the socket took, which is also the offset in the file of the next ones. */
  let sent = 0;
  /** Of those, what a cut off's reset discarded before the client acknowledged it (stall.ts). */
  let discarded = 0;
  let fileFd: number | undefined;
  let watcher: object | undefined;
  let finished = false;
  const stall = cutOffWhenStalled(outgoing, stallMs, log, {
    sent: () => sent - discarded,
    // The head is never counted: no more than the body's bytes can be taken back.
    lost: (bytes) => (discarded = Math.min(sent, bytes)),
  });

  const finish = () => {
    if (finished) return;
    finished = true;
    stall.stop();
    if (watcher) addon.watcherClose(watcher);
    opened.release();
    done(sent - discarded, true);
    source.close().catch((err: unknown) => log.error({ err }, 'cannot close a download source'));
  };
  const fail = (err: unknown) => {
    if (finished) return;
    // Breaks the response off: the client sees a short body, never a wrong one.
    log.error({ err, sent }, 'download broke off: the package could not be read');
    outgoing.destroy();
  };

  const pump = () => {
    stall.moved();
    try {
      step();
    } catch (err) {
      // The addon refused (no descriptor left for the watcher's dup, say).
      fail(err);
    }
  };
  const step = () => {
    if (finished) return;
    const fd = socketFdOf(socket);
    if (socket.destroyed || fd === undefined || fileFd === undefined) return; // 'close' follows
    const asked = Math.min(length - sent, BYTES_PER_TURN);
    const result = addon.sendFile(fd, fileFd, file.start + sent, asked);
    if (result < 0) {
      if (result === -constants.errno.ENODATA) fail(new AppError('INTEGRITY', `the package file ends at byte ${file.start + sent}, before the ${file.end + 1} bytes served`));
      // The client is gone (EPIPE, ECONNRESET): 'close' reports what it took.
      else outgoing.destroy();
      return;
    }
    sent += result;
    if (sent === length) {
      outgoing.end();
    } else if (result === asked) {
      // The socket may take more, but other requests get their turn first.
      setImmediate(pump);
    } else {
      watcher ??= addon.watcherOpen(fd);
      stall.waiting();
      addon.watcherWait(watcher, (status) => (status < 0 ? outgoing.destroy() : pump()));
    }
  };

  // 'close' comes when the response is complete or the connection is gone, whichever first.
  outgoing.once('close', finish);
  opened.fd.then(
    (fd) => {
      if (finished) return;
      fileFd = fd;
      // The head must be in the kernel before the body: sendfile writes beside Node's queue.
      outgoing.flushHeaders();
      if (socket.writableLength === 0) pump();
      else {
        stall.waiting();
        socket.once('drain', pump);
      }
    },
    fail,
  );
}
