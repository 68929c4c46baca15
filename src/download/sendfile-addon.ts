// The native addon behind sendfile.ts (native/sendfile, built at install by
// scripts/native.mjs), loaded once, or the reason it cannot be: a server without it
// copies downloads through JavaScript and says so at start (downloads.ts).
import { createRequire } from 'node:module';

export interface SendfileAddon {
  sendFile(outFd: number, inFd: number, offset: number, length: number): number;
  watcherOpen(fd: number): object;
  watcherWait(watcher: object, callback: (status: number) => void): void;
  watcherClose(watcher: object): void;
}

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
