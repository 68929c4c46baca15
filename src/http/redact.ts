// What of a request path may be written to a log or echoed in a response. A download link
// carries its credential in the path (`/dl/<token>`), and a client may send a token in
// any spelling the router accepts or refuses: `//dl//<token>`, `/%64l/<token>`,
// `/dl%2F<token>`, `/DL/<token>`, `/dl/<token>/extra`. Matching the one spelling the
// router serves would leave the others in the log, so every place that logs or echoes a
// path goes through redactPath, which looks at the path the way an attacker would write
// it: percent-decoded (repeatedly), in any case, with any slashes.
import { DOWNLOAD_SEGMENT, looksLikeDownloadToken } from '../deployments/download-grant.ts';
import { looksLikeApiToken } from '../tokens/tokens.ts';

/** What a download path is logged as: the route, never what follows it. */
export const REDACTED_DOWNLOAD_PATH = `/${DOWNLOAD_SEGMENT}/:token`;

/** What a token-shaped run elsewhere in a path becomes. */
const REDACTED = ':token';

/** Rounds of percent-decoding before a path counts as unreadable: no real client nests escapes this deep. */
const DECODE_ROUNDS = 8;
const UNREADABLE = '/:unreadable';

/**
 * Runs of the characters tokens are made of, found in one pass: one character class and
 * nothing to backtrack into. (A pattern like /[\w-]{16,}\.[\w-]{16,}/ took a second on a
 * 16 KB path of letters, on every request that sent one.)
 */
const RUN = /[A-Za-z0-9_.-]+/g;

/**
 * The path (and query, if given) with every credential in it hidden: anything after a
 * leading `dl` segment becomes `/dl/:token`, and anything shaped like a download or API
 * token elsewhere becomes `:token`. A path with nothing to hide comes back unchanged.
 */
export function redactPath(path: string): string {
  const decoded = decodeAscii(path);
  if (decoded === undefined) return UNREADABLE;
  if (isDownloadPath(decoded)) return REDACTED_DOWNLOAD_PATH;
  // Shown decoded when something was hidden: the encoded form could spell the token again.
  const scrubbed = redactSecrets(decoded);
  return scrubbed === decoded ? path : scrubbed;
}

/**
 * Free text (an error message naming what the request asked for) with every token-shaped
 * run hidden: an id taken from the path is echoed in "no device <id>", whatever it holds.
 */
export function redactSecrets(text: string): string {
  return text.replace(RUN, (run) => (looksLikeDownloadToken(run) || looksLikeApiToken(run) ? REDACTED : run));
}

/** Whether redactPath would change the path: a place that cannot show a redacted path (a redirect target) refuses it instead. */
export function carriesSecret(path: string): boolean {
  return redactPath(path) !== path;
}

/**
 * Percent-escapes of ASCII characters decoded until none is left (every token character
 * is ASCII; other escapes stay as they are, so the result is still valid text), or
 * undefined when that takes more than DECODE_ROUNDS rounds.
 */
function decodeAscii(text: string): string | undefined {
  let current = text;
  for (let round = 0; round < DECODE_ROUNDS; round++) {
    const next = current.replace(/%([0-7][0-9A-Fa-f])/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    if (next === current) return current;
    current = next;
  }
  return undefined;
}

/**
 * Whether the first real segment is `dl` (ignoring empty and dot segments, `;params`,
 * case, blanks, and either slash) and something follows it: a token, or what was meant
 * as one.
 */
function isDownloadPath(decoded: string): boolean {
  const segments = decoded.split(/[/\\]+/).filter((s) => s !== '' && s !== '.' && s !== '..');
  const [first, ...rest] = segments;
  if (first === undefined || rest.length === 0) return false;
  const name = (first.split(';')[0] ?? '').replace(/[\s\u0000-\u001f\u007f]+/g, '').toLowerCase();
  return name === DOWNLOAD_SEGMENT;
}
