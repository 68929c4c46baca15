// IDs that say what they are (bld_..., pkg_...): readable in logs and URLs, and a wrong
// kind of id passed to an endpoint is obvious at a glance.
import { randomBytes } from 'node:crypto';

export type IdKind = 'mfr' | 'mdl' | 'key' | 'bld' | 'pkg' | 'job' | 'dev' | 'dep' | 'tok' | 'evt' | 'cmp' | 'op' | 'psn' | 'flt' | 'whk' | 'whd' | 'rel' | 'qry' | 'app' | 'apk' | 'sdp' | 'uip' | 'prf' | 'prv' | 'pap' | 'enb';

export function newId(kind: IdKind): string {
  // Time prefix keeps ids roughly ordered by creation, which keeps indexes compact.
  return `${kind}_${Date.now().toString(36).padStart(9, '0')}${randomBytes(8).toString('hex')}`;
}
