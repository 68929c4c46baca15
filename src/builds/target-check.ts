// Whether an upload may become a build, as far as offline signing goes. When the
// manufacturer requires offline signing, a build needs a target statement that k of its
// offline keys signed, that has not expired, and that names this model, version, security
// version and (once the bytes are in) this exact image. A statement sent where it is not
// required is held to the same rules: a build never carries one that devices would refuse.
// Each refusal says what to do instead.
import { AppError } from '../errors.ts';
import type { OfflineTrustOnServer } from '../manufacturers/offline-keys.ts';
import { type TargetEnvelope, verifyTargetStatement } from '../signing/target-statement.ts';
import type { UploadQuery } from './schemas.ts';

export interface UploadSigning {
  manufacturer: string;
  query: UploadQuery;
  statement: TargetEnvelope | undefined;
  trust: OfflineTrustOnServer | undefined;
  required: boolean;
  now: number;
}

const signHint = (u: UploadSigning) => `sign the image offline with: fota build sign IMAGE --key KEY.json --manufacturer ${u.manufacturer} --model ${u.query.model} --version ${u.query.version}, then upload with --statement IMAGE.target.json`;

/** Before the bytes arrive: everything but the image's digest. */
export function checkStatementBeforeUpload(u: UploadSigning): void {
  if (!u.statement) {
    if (u.required) throw new AppError('INTEGRITY', `manufacturer ${u.manufacturer} requires offline signing and this upload carries no target statement; ${signHint(u)}`);
    return;
  }
  if (!u.trust) {
    throw new AppError('INTEGRITY', `the upload carries a target statement but manufacturer ${u.manufacturer} has registered no offline keys to check it against; register a root first (fota keys root, then fota keys register ROOT.json)`);
  }
  const s = u.statement.signed;
  if (s.model !== u.query.model || s.version !== u.query.version) {
    throw new AppError('INTEGRITY', `the target statement is for ${s.model} ${s.version}, this upload is ${u.query.model} ${u.query.version}; ${signHint(u)}`);
  }
  if (u.query.securityVersion !== undefined && u.query.securityVersion !== s.securityVersion) {
    throw new AppError('INTEGRITY', `the upload says security version ${u.query.securityVersion}, the target statement ${s.securityVersion}; leave --security-version out or sign the statement with it`);
  }
  const verdict = verifyTargetStatement(u.statement, { root: u.trust.root, revoked: u.trust.revoked, now: u.now });
  if (!verdict.ok) throw new AppError('INTEGRITY', `${verdict.reason}; ${signHint(u)}`);
}

/** After the bytes are stored: the statement must name exactly these bytes. */
export function checkStatementDigest(statement: TargetEnvelope | undefined, stored: { sha256: string; size: number }): void {
  if (!statement) return;
  const s = statement.signed;
  if (s.sha256 !== stored.sha256 || s.size !== stored.size) {
    throw new AppError('INTEGRITY', `the uploaded image (sha256 ${stored.sha256}, ${stored.size} bytes) is not the one the target statement signs (sha256 ${s.sha256}, ${s.size} bytes); sign this image, or upload the signed one`);
  }
}
