// A download whose client takes no byte for a while is cut off, as nginx's send_timeout
// cuts it. Node's server has no such limit once a response is under way: a client that
// stops reading held its socket for ever (and on the sendfile path the watcher's copy of
// it, on the copying path a chunk in memory), and enough such clients use up the
// process's descriptors, which every other request needs too.
//
// The clock runs only while the download waits for the client (a write not yet taken, a
// full socket), never while it waits for its own source: a bandwidth budget may hold a
// chunk back longer than the limit, and that is not the client's doing. And when it runs
// out, the kernel is asked whether the client acknowledged bytes meanwhile (the socket's
// unsent bytes shrank): a slow client on a large socket buffer may take a while before
// the socket can take more, and is not stalled for that.
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { unsentBytesOf } from './sendfile-addon.ts';

export interface StallWatch {
  /** The download waits for the client from now on: cut it off if that lasts the limit. */
  waiting(): void;
  /** The client took bytes: the wait is over. */
  moved(): void;
  /** The download is over: no cut off any more. */
  stop(): void;
}

/** What a download counted as sent. */
export interface SentCount {
  sent(): number;
  /**
   * These bytes of the ones counted never reach the client (the reset discards them): for
   * a count of exactly what the kernel took (sendfile.ts). Node's writes are counted by
   * chunk, some of which may be in the kernel's queue only in part; that count stays.
   */
  lost?(bytes: number): void;
}

/**
 * The stall watch of a download on `outgoing`: once a wait lasts `limitMs`, the connection
 * is reset, and the response's 'close' then counts what the client took.
 */
export function cutOffWhenStalled(outgoing: ServerResponse, limitMs: number, log: Logger, count: SentCount): StallWatch {
  const onStall = () => {
    if (count.lost) {
      // Counted when the socket took them, but never acknowledged: gone with the reset.
      const unsent = unsentBytesOf(outgoing.socket);
      if (unsent) count.lost(unsent);
    }
    // Logged with the count as recorded, once the download's own 'close' listener has run.
    outgoing.once('close', () => log.info({ sent: count.sent(), stallSeconds: limitMs / 1000 }, 'download cut off: the client took no bytes for FOTA_DOWNLOAD_STALL_SECONDS'));
    // With a reset, as nginx's reset_timedout_connection: a plain close would leave the
    // kernel holding the unsent bytes (megabytes on a full socket) for a client that
    // takes none, until its own retries give up, minutes later.
    if (outgoing.socket) outgoing.socket.resetAndDestroy();
    else outgoing.destroy();
  };
  let timer: NodeJS.Timeout | undefined;
  let armed = false;
  let stopped = false;
  /** The socket's unsent bytes when the wait began, or at the last look. */
  let unsent: number | undefined;
  const expired = () => {
    if (!armed || stopped) return;
    const now = unsentBytesOf(outgoing.socket);
    if (now !== undefined && unsent !== undefined && now < unsent) {
      // The client took bytes: another period.
      unsent = now;
      timer?.refresh();
      return;
    }
    onStall();
  };
  return {
    waiting() {
      if (stopped) return;
      armed = true;
      unsent = unsentBytesOf(outgoing.socket);
      // One timer per download, restarted for each wait rather than made anew.
      if (timer) timer.refresh();
      else {
        timer = setTimeout(expired, limitMs);
        // A stalled client keeps its socket, and with it the process, alive; the timer need not.
        timer.unref();
      }
    },
    moved() {
      armed = false;
    },
    stop() {
      stopped = true;
      armed = false;
      if (timer) clearTimeout(timer);
    },
  };
}
