// Makes a stored artifact look as old as a test needs, the way garbage collection sees it:
// the modified time of the local store's file, or of the file s3rver keeps the object in
// (s3rver reports that file's mtime as the object's LastModified).
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';

export type StoreOnDisk = { kind: 'local'; root: string } | { kind: 's3'; directory: string; bucket: string };

export async function backdate(store: StoreOnDisk, sha256: string, to: Date): Promise<void> {
  const path = store.kind === 'local' ? join(store.root, sha256.slice(0, 2), sha256) : join(store.directory, store.bucket, 'objects', `${sha256}._S3rver_object`);
  await utimes(path, to, to);
}

export const HOUR = 3600_000;
