// How many downloads each deployment has under way in this process, so that the holder of
// a download link (a device, or whoever copied its link) cannot open connections without
// end: each one holds a socket, a descriptor and, while it waits, a chunk or the kernel's
// copy of the file, which every other request needs too. The stall limit (stall.ts) ends
// a connection whose client stopped reading; this bounds how many a link may hold at once
// before that (nginx's limit_conn). Counted per deployment, not per token: the links one
// deployment's sessions were given all count together. A device needs one connection at a
// time, and a few more while the server has not yet seen its lost ones end.
export class DownloadsUnderWay {
  private readonly counts = new Map<string, number>();

  /**
   * Takes a place for one more download of `deploymentId`: the function that gives it
   * back (call it once the response is over; later calls do nothing), or undefined when
   * `limit` downloads of it are under way already.
   */
  take(deploymentId: string, limit: number): (() => void) | undefined {
    const count = this.counts.get(deploymentId) ?? 0;
    if (count >= limit) return undefined;
    this.counts.set(deploymentId, count + 1);
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const left = (this.counts.get(deploymentId) ?? 1) - 1;
      // No entry for a deployment with nothing under way: the map holds only live downloads.
      if (left > 0) this.counts.set(deploymentId, left);
      else this.counts.delete(deploymentId);
    };
  }

  /** Downloads of `deploymentId` under way. */
  of(deploymentId: string): number {
    return this.counts.get(deploymentId) ?? 0;
  }

  /** Deployments with a download under way. */
  get size(): number {
    return this.counts.size;
  }
}
