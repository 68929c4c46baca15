// Faults a test injects into the agent's downloads, as options of the library (never
// environment variables): a connection cut at a file offset (the agent must resume from
// what it has) and bytes flipped in transit (the chunk check must catch them). Offsets are
// positions in the `.fota` file as served, so a test can aim at a given payload chunk.
// The fleet simulator does not know its packages in advance, so it may aim by fraction
// of the payload instead; those faults are placed once the downloader has read the
// envelope and knows where the payload lies and how much of it is still to come.

export interface DownloadFaults {
  /** Cut the connection when the download reaches each of these offsets (once per listing). */
  cutAt?: number[];
  /** Flip the byte at each offset as it arrives; `times` deliveries are hit (default 1). */
  corrupt?: Array<{ offset: number; times?: number }>;
  /** Like `cutAt`, at fractions (0..1) of the payload still to come after the first request. */
  cutAtFraction?: number[];
  /** Like `corrupt`, at fractions (0..1) of the payload still to come after the first request. */
  corruptAtFraction?: Array<{ fraction: number; times?: number }>;
}

export class FaultInjector {
  private readonly cuts: number[];
  private readonly corruptions: Array<{ offset: number; left: number }>;
  private cutFractions: number[];
  private corruptFractions: Array<{ fraction: number; times?: number }>;

  constructor(faults: DownloadFaults = {}) {
    this.cuts = [...(faults.cutAt ?? [])].sort((a, b) => a - b);
    this.corruptions = (faults.corrupt ?? []).map((c) => ({ offset: c.offset, left: c.times ?? 1 }));
    this.cutFractions = [...(faults.cutAtFraction ?? [])];
    this.corruptFractions = [...(faults.corruptAtFraction ?? [])];
  }

  /**
   * Places the faults given by fraction within the payload bytes still to come, [from,
   * end), for the first package whose layout is known (later packages get none of them:
   * like the others, such a fault fires once). Bytes that came with the envelope in the
   * first request cannot be hit any more; with nothing left to come, nothing is placed.
   */
  place(from: number, end: number): void {
    if (end <= from) return;
    const at = (fraction: number) => from + Math.min(end - from - 1, Math.max(0, Math.floor(fraction * (end - from))));
    for (const fraction of this.cutFractions) this.cuts.push(at(fraction));
    this.cuts.sort((a, b) => a - b);
    for (const c of this.corruptFractions) this.corruptions.push({ offset: at(c.fraction), left: c.times ?? 1 });
    this.cutFractions = [];
    this.corruptFractions = [];
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
