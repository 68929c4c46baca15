// One keep-alive HTTP/1.1 connection that POSTs a request and reads its answer, for the
// DM benchmark's load generator. node:http's client (a ClientRequest, an IncomingMessage,
// the Agent's socket bookkeeping and their events per message) cost the load generator
// more CPU than the server's decoding of the same message, on the same cores as the
// server it measures. This writes the request in one socket write and reads answers that
// carry a Content-Length (every /dm answer does); anything else fails the request loudly.
import { connect, type Socket } from 'node:net';

export interface LaneAnswer {
  status: number;
  contentType: string;
  body: Buffer;
}

interface Waiting {
  resolve: (answer: LaneAnswer) => void;
  reject: (err: Error) => void;
}

const HEAD_END = Buffer.from('\r\n\r\n');
/** An answer's head beyond this is not a DM server's. */
const MAX_HEAD = 16 * 1024;

/** A connection to one origin (`http://host:port`), one request at a time; reconnects after a close. */
export class HttpLane {
  private socket: Socket | undefined;
  private received: Buffer = Buffer.alloc(0);
  private waiting: Waiting | undefined;
  private readonly host: string;
  private readonly port: number;

  constructor(readonly origin: string) {
    const url = new URL(origin);
    this.host = url.hostname;
    this.port = Number(url.port || 80);
  }

  /** POSTs `body` to `path` (with its query); `headers` are whole header lines, each ending in CRLF. */
  post(path: string, headers: string, body: Buffer): Promise<LaneAnswer> {
    if (this.waiting) return Promise.reject(new Error('HttpLane: one request at a time'));
    const socket = this.socket ?? this.open();
    return new Promise<LaneAnswer>((resolve, reject) => {
      this.waiting = { resolve, reject };
      const head = `POST ${path} HTTP/1.1\r\nhost: ${this.host}:${this.port}\r\n${headers}content-length: ${body.length}\r\n\r\n`;
      socket.write(Buffer.concat([Buffer.from(head, 'latin1'), body]));
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private open(): Socket {
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    this.socket = socket;
    this.received = Buffer.alloc(0);
    socket.on('data', (part: Buffer) => {
      this.received = this.received.length === 0 ? part : Buffer.concat([this.received, part]);
      this.answer();
    });
    // Only the lane's current socket: one it closed itself may report after a new one opened.
    const gone = (err?: Error) => {
      if (this.socket === socket) this.fail(err ?? new Error('the server closed the connection before answering'));
    };
    socket.on('error', gone);
    socket.on('close', () => gone());
    return socket;
  }

  /** Settles the waiting request once its whole answer is in. */
  private answer(): void {
    const end = this.received.indexOf(HEAD_END);
    if (end === -1) {
      if (this.received.length > MAX_HEAD) this.fail(new Error('answer head too large'));
      return;
    }
    const lines = this.received.toString('latin1', 0, end).split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(lines[0] ?? '')?.[1]);
    let length: number | undefined;
    let contentType = '';
    let close = false;
    for (let k = 1; k < lines.length; k++) {
      const line = lines[k] ?? '';
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') length = Number(value);
      else if (name === 'content-type') contentType = value;
      else if (name === 'connection') close = value.toLowerCase() === 'close';
      else if (name === 'transfer-encoding') return this.fail(new Error(`answer with transfer-encoding ${value}: this client reads Content-Length answers only`));
    }
    if (!Number.isInteger(status) || length === undefined || !Number.isInteger(length)) return this.fail(new Error(`unreadable answer head: ${JSON.stringify(lines.slice(0, 3))}`));
    const start = end + HEAD_END.length;
    if (this.received.length < start + length) return;
    if (this.received.length > start + length) return this.fail(new Error('bytes after the answer to the only request'));
    const body = this.received.subarray(start, start + length);
    this.received = Buffer.alloc(0);
    const waiting = this.waiting;
    this.waiting = undefined;
    if (close) this.close();
    waiting?.resolve({ status, contentType, body });
  }

  private fail(err: Error): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    this.close();
    waiting?.reject(err);
  }
}
