// bsdiff patches for a simulated fleet, each (base image, delta payload) pair applied once.
// bspatch is deterministic, so every device patching the same base with the same payload
// gets the same bytes; running it once per device would cost the 500-device demo minutes
// of CPU (a child process and a full read and write of a 10 MB image each). The memo
// stands in for the patch step only: every device still downloads and checks its own
// package (signature, model, source image hash, security version, payload hash), the memo
// is keyed by the hash of that device's own checked payload and of its own base image,
// and the result is still checked against the signed target hash by every device
// (packages/apply.ts). Results are blobs of the shared image store, so a device's new
// slot is a hard link of the one copy.
import { DeltaPool, type DeltaJobResult, type DeltaPoolOptions } from '../../delta/pool.ts';
import { hashFile } from '../../hashing.ts';
import type { SharedImages } from './images.ts';

export class SharedPatchPool extends DeltaPool {
  /** Blob of each result by `base sha256 + payload sha256`, or the patch under way. */
  private readonly results = new Map<string, Promise<string>>();
  private readonly counts = { applied: 0, reused: 0 };

  constructor(
    private readonly images: SharedImages,
    options: DeltaPoolOptions = {},
  ) {
    super(options);
  }

  patchStats(): { applied: number; reused: number } {
    return { ...this.counts };
  }

  override async patch(oldPath: string, patchPath: string, newPath: string, newSize: number, options: { signal?: AbortSignal } = {}): Promise<DeltaJobResult> {
    const started = performance.now();
    // The payload is small (a delta) and is this device's own copy, just checked.
    const [base, payload] = await Promise.all([this.images.hash(oldPath), hashFile(patchPath)]);
    const key = `${base.sha256}+${payload.sha256}`;
    let result = this.results.get(key);
    if (result) {
      this.counts.reused += 1;
    } else {
      this.counts.applied += 1;
      // Not aborted by one device's signal: other devices may be waiting for the same result.
      result = this.images.produce((tmp) => super.patch(oldPath, patchPath, tmp, newSize)).then((made) => made.path);
      this.results.set(key, result);
      result.catch(() => this.results.delete(key)); // a failed patch is tried again by the next device
    }
    const blob = await result;
    options.signal?.throwIfAborted();
    await this.images.place(blob, newPath);
    return { elapsedMs: performance.now() - started, maxRssBytes: 0 };
  }
}
