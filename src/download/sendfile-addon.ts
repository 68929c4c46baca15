// The native addon behind sendfile.ts (native/sendfile, built at install by
// scripts/native.mjs), loaded once, or the reason it cannot be: a server without it
// copies downloads through JavaScript and says so at start (downloads.ts).
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

export interface SendfileAddon {
  sendFile(outFd: number, inFd: number, offset: number, length: number): number;
  watcherOpen(fd: number): object;
  watcherWait(watcher: object, callback: (status: number) => void): void;
  watcherClose(watcher: object): void;
  unsentBytes(fd: number): number;
}

/** What Node keeps on a socket and does not declare: the TLS mark, the response that owns it, the descriptor. */
export type NodeSocket = Socket & { encrypted?: boolean; _httpMessage?: unknown; _handle?: { fd?: number } | null };

/** The addon as `npm install` built it (scripts/native.mjs), or why there is none. */
const loaded: { addon: SendfileAddon } | { missing: string } = (() => {
  if (process.platform !== 'linux') return { missing: 'sendfile is used on Linux only' };
  try {
    // The same path from src/download/ and dist/download/.
    return { addon: createRequire(import.meta.url)('../../native/sendfile/build/Release/fota_sendfile.node') as SendfileAddon };
  } catch (err) {
    return { missing: `the sendfile addon is not built (${(err as Error).message.split('\n')[0]}); \`npm run build\` builds it, with python3, make and a C compiler installed` };
  }
})();

/** Why downloads cannot use sendfile in this process, or undefined when they can. */
export const sendfileMissing: string | undefined = 'missing' in loaded ? loaded.missing : undefined;
/** The addon itself, for its tests. */
export const sendfileAddon: SendfileAddon | undefined = 'addon' in loaded ? loaded.addon : undefined;

/**
 * The bytes `socket` holds that its peer has not acknowledged yet, or undefined where that
 * cannot be known (no addon, no descriptor, not TCP): it shrinks while the client takes
 * bytes, whether or not a write of ours completes meanwhile (stall.ts).
 */
export function unsentBytesOf(socket: Socket | null): number | undefined {
  const fd = socketFdOf(socket);
  if (!sendfileAddon || fd === undefined) return undefined;
  const bytes = sendfileAddon.unsentBytes(fd);
  return bytes >= 0 ? bytes : undefined;
}

/** The descriptor under `socket` (Node's private `_handle.fd`: it has no public way), or undefined once it has none. */
export function socketFdOf(socket: Socket | null): number | undefined {
  const fd = (socket as NodeSocket | null)?._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}
