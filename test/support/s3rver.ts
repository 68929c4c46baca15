// A real S3-protocol server (s3rver) on loopback for the current test file: started
// before its tests, stopped and removed after them.
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { tempDirFor } from './harness.ts';

// s3rver ships no types; this is the part of its API the tests use.
interface S3rver {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverClass = new (options: { address: string; port: number; silent: boolean; directory: string }) => S3rver;
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;

/** s3rver accepts only these credentials. */
export const S3_KEYS = { accessKey: 'S3RVER', secretKey: 'S3RVER' };

export interface RunningS3rver {
  port: number;
  directory: string;
  close(): Promise<void>;
}

/**
 * An s3rver the caller stops (to see what happens when the object store goes away) and
 * may start again on the same port and directory, as an object store that comes back.
 */
export async function startS3rver(options: { directory: string; port?: number }): Promise<RunningS3rver> {
  const server = new S3rver({ address: '127.0.0.1', port: options.port ?? 0, silent: true, directory: options.directory });
  const { port } = await server.run();
  return { port, directory: options.directory, close: () => server.close() };
}

/**
 * Registers the hooks; `port()` is valid once the file's tests run. `directory()` is where
 * s3rver keeps its buckets on disk: `<bucket>/<key>._S3rver_object`, whose mtime is the
 * object's LastModified.
 */
export function useS3rver(): { port(): number; directory(): string } {
  let port: number | undefined;
  let directory: string | undefined;
  beforeAll(async () => {
    directory = tempDirFor('s3rver', afterAll);
    const server = await startS3rver({ directory });
    port = server.port;
    afterAll(() => server.close());
  });
  return {
    port() {
      if (port === undefined) throw new Error('s3rver did not start');
      return port;
    },
    directory() {
      if (directory === undefined) throw new Error('s3rver did not start');
      return directory;
    },
  };
}
