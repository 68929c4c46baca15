// Download tokens already checked, kept so the next request of the same link (a device
// resuming, or fetching its package in several ranges) costs a map lookup instead of an
// HMAC, a base64 decode, a JSON parse and a schema check. What is kept is the grant a
// valid signature vouched for: with the same key the same token always verifies the same,
// so nothing is decided differently. Expiry is still judged on every request, against the
// clock of that request, and refusals are never kept.
import { BoundedMap } from '../bounded-map.ts';
import { type DownloadGrant, isTokenError, type TokenError, verifyDownloadToken } from '../deployments/download-grant.ts';

/** Tokens kept: a grant is about 300 bytes with its token, so this holds under 2 MiB. */
export const CHECKED_TOKENS = 4096;

export class CheckedGrants {
  /** Insertion order is the eviction order: a full map drops its oldest token. */
  private readonly grants: BoundedMap<string, DownloadGrant>;

  constructor(
    private readonly key: Uint8Array,
    capacity = CHECKED_TOKENS,
  ) {
    this.grants = new BoundedMap(capacity);
  }

  /** The grant, or why it is refused: verifyDownloadToken's answer, at `now`. */
  check(token: string, now: number): DownloadGrant | TokenError {
    let grant = this.grants.get(token);
    if (grant === undefined) {
      const checked = verifyDownloadToken(this.key, token, now);
      if (isTokenError(checked)) return checked;
      grant = checked;
      this.grants.set(token, grant);
    }
    // As verifyDownloadToken judges it: a kept grant expires like a fresh one.
    if (now >= grant.expiresAt) {
      this.grants.delete(token);
      return { error: 'expired' };
    }
    return grant;
  }
}
