// Faults a test injects into the agent's downloads, as options of the library (never
// environment variables): a connection cut at a file offset (the agent must resume from
// what it has) and bytes flipped in transit (the chunk check must catch them). Offsets are
// positions in the `.fota` file as served, so a test can aim at a given payload chunk.

export interface DownloadFaults {
  /** Cut the connection when the download reaches each of these offsets (once per listing). */
  cutAt?: number[];
  /** Flip the byte at each offset as it arrives; `times` deliveries are hit (default 1). */
  corrupt?: Array<{ offset: number; times?: number }>;
}

export class FaultInjector {
  private readonly cuts: number[];
  private readonly corruptions: Array<{ offset: number; left: number }>;

  constructor(faults: DownloadFaults = {}) {
    this.cuts = [...(faults.cutAt ?? [])].sort((a, b) => a - b);
    this.corruptions = (faults.corrupt ?? []).map((c) => ({ offset: c.offset, left: c.times ?? 1 }));
  }

  /**
   * What arrives of `piece` (received at file offset `at`): possibly altered, possibly cut
   * short, in which case `cut` says the connection drops right after it.
   */
  deliver(at: number, piece: Buffer): { piece: Buffer; cut: boolean } {
    let out = piece;
    let copied = false;
    let cut = false;
    // A cut at the very offset a request starts from drops it before its first byte.
    const cutIndex = this.cuts.findIndex((offset) => offset >= at && offset < at + piece.length);
    const cutOffset = this.cuts[cutIndex];
    if (cutOffset !== undefined) {
      this.cuts.splice(cutIndex, 1);
      out = piece.subarray(0, cutOffset - at);
      cut = true;
    }
    for (const c of this.corruptions) {
      if (c.left > 0 && c.offset >= at && c.offset < at + out.length) {
        if (!copied) {
          out = Buffer.from(out); // never alter the caller's buffer
          copied = true;
        }
        const i = c.offset - at;
        out[i] = (out[i] ?? 0) ^ 0xff;
        c.left -= 1;
      }
    }
    return { piece: out, cut };
  }
}
