// The one rule for a node path a configuration profile may name. Profiles reach every
// device of a model, so a path is held to more than a single operation's: absolute in the
// device's tree ("./A/B"), no "." or ".." segment (a device that resolves them could be led
// outside the subtree the operator meant), no empty segment ("./A//B" names no node on
// some clients and another node on others), printable characters only, and the size
// limits small DM clients have (URI/MaxTotLen, MaxSegLen, MaxDepth in DevDetail).
export const MAX_PATH_LENGTH = 255;
export const MAX_SEGMENT_LENGTH = 64;
export const MAX_DEPTH = 16;

/** Characters a segment may not hold: separators, URI syntax, wildcards, whitespace and controls. */
const FORBIDDEN = /[\s?#*\\<>"'`\u0000-\u001f\u007f-\u009f]/;

/** Why `path` is no node path a profile may name, or undefined when it is one. */
export function nodePathProblem(path: string): string | undefined {
  if (path.length > MAX_PATH_LENGTH) return `is ${path.length} characters; a node path is at most ${MAX_PATH_LENGTH}`;
  if (!path.startsWith('./')) return 'must be an absolute DM tree path starting with "./" (e.g. ./DMAcc/fota/AppAddr/1/Addr)';
  const segments = path.slice(2).split('/');
  if (segments.length > MAX_DEPTH) return `is ${segments.length} levels deep; at most ${MAX_DEPTH}`;
  for (const segment of segments) {
    if (segment === '') return 'has an empty segment ("//" or a trailing "/")';
    if (segment === '.' || segment === '..') return `must not contain a "${segment}" segment`;
    if (segment.length > MAX_SEGMENT_LENGTH) return `has a segment of ${segment.length} characters; at most ${MAX_SEGMENT_LENGTH}`;
    if (FORBIDDEN.test(segment)) return 'holds a character a node name may not (whitespace, control, ?, #, *, \\, quotes or angle brackets)';
  }
  return undefined;
}
