// Writing a download's bytes to the client and counting what really went out. On Node's
// HTTP server (always, in `fota serve`) a local package goes from its file to the socket
// by sendfile where it can (sendfile.ts); otherwise the bytes go straight to the
// ServerResponse, each chunk counted once its write has completed. Elsewhere
// (app.request() in tests, other runtimes) they go through a pull-only web stream.
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { sendFileToNode, sendfileSocket } from './sendfile.ts';
import type { MeteredBody } from './serve.ts';
import { cutOffWhenStalled } from './stall.ts';

/**
 * Sends `body` on a response whose head is written. Reads a chunk only once the previous
 * write has completed (nothing is read ahead), and counts a chunk as sent only then, so a
 * client that hangs up is charged for what the socket took, not for what we meant to send.
 * Driven by the write callbacks, with no promise per chunk: a chunk already in memory
 * (readReady) is written at once, and only a chunk still to be loaded (or held back by a
 * bandwidth budget) goes through read().
 */
export function sendToNode(outgoing: ServerResponse, body: MeteredBody, log: Logger, stallMs: number): void {
  const { source, done } = body;
  const { file } = source;
  const socket = file && sendfileSocket(outgoing);
  if (file && socket) {
    sendFileToNode(outgoing, socket, body, file, log, stallMs);
    return;
  }
  let sent = 0;
  const stall = cutOffWhenStalled(outgoing, stallMs, log, { sent: () => sent });
  /** The bytes of the write under way (at most one). */
  let writing = 0;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    stall.stop();
    done(sent);
    source.close().catch((err: unknown) => log.error({ err }, 'cannot close a download source'));
  };
  const fail = (err: unknown) => {
    if (finished) return;
    // Breaks the response off: the client sees a short body, never a wrong one.
    log.error({ err, sent }, 'download broke off: the package could not be read');
    outgoing.destroy();
  };
  const write = (chunk: Uint8Array | null) => {
    if (finished) return;
    if (chunk === null) {
      outgoing.end();
      return;
    }
    writing = chunk.length;
    stall.waiting();
    outgoing.write(chunk, written);
  };
  // Called once the socket has taken the chunk (never synchronously), or with an error
  // once the connection is gone: 'close' then reports what was counted.
  const written = (err?: Error | null) => {
    if (err || finished) return;
    stall.moved();
    sent += writing;
    writing = 0;
    next();
  };
  const next = () => {
    let chunk: Uint8Array | null | undefined;
    try {
      chunk = source.readReady?.();
    } catch (err) {
      fail(err);
      return;
    }
    if (chunk === undefined) source.read().then(write, fail);
    else write(chunk);
  };
  // 'close' comes when the response is complete or the connection is gone, whichever first.
  outgoing.once('close', finish);
  if (outgoing.destroyed || outgoing.socket?.destroyed) finish();
  else next();
}

/**
 * The same for a fetch-style Response: a pull stream with no queue of its own, asked for
 * the next chunk only once the previous one was taken, which is when that one is counted.
 * (Readable.toWeb would read ahead into an unbounded queue, holding and counting bytes no
 * client has taken.)
 */
export function meteredWebStream(body: MeteredBody, log: Logger): ReadableStream<Uint8Array> {
  const { source, done } = body;
  let sent = 0;
  let pending = 0;
  let finished = false;
  const finish = async () => {
    if (finished) return;
    finished = true;
    done(sent);
    await source.close();
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        sent += pending;
        pending = 0;
        try {
          const chunk = await source.read();
          if (chunk === null) {
            controller.close();
            await finish();
            return;
          }
          pending = chunk.length;
          controller.enqueue(chunk);
        } catch (err) {
          log.error({ err, sent }, 'download broke off: the package could not be read');
          controller.error(err);
          await finish();
        }
      },
      cancel: finish,
    },
    { highWaterMark: 0 },
  );
}
