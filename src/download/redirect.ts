// FOTA_DOWNLOAD_REDIRECT=s3: for fleets that outgrow one server's bandwidth, a download
// whose grant checks out is answered with a redirect to a short-lived presigned URL of
// the object store, which then serves the bytes (ranges included). The grant is checked
// and the download counted here exactly as when the server sends the bytes itself.
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';

/** A presigned GET URL of the object, valid for FOTA_DOWNLOAD_REDIRECT_SECONDS. */
export async function presignedLocation(ctx: Context, sha256: string): Promise<string> {
  const { artifacts } = ctx;
  // Refused at start (config, createContext) already; this covers a store built otherwise.
  if (!artifacts.presignedUrl) throw new AppError('VALIDATION', `download redirects need an artifact store with presigned URLs; the ${artifacts.kind} store has none`);
  return artifacts.presignedUrl(sha256, ctx.config.download.redirectTtlSeconds);
}
