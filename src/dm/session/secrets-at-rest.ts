// What a DM session keeps between messages holds no secret in clear. A command that
// carries one (the new credentials of a rotation, enroll/first-contact.ts) is marked
// `secret`, and the session row keeps:
//
// - the reply (kept to send again when the device lost it) sealed under the master key
//   (signing/vault.ts) when it carries such a command, so a resend still gives the device
//   the very secret it was sent; any other reply in clear (no sealing on the hot path of
//   messages that carry nothing to hide): an XML one as its text, a WBXML one as base64;
// - the commands awaiting their Status without the secret value (a Status never needs it);
// - the commands not sent yet (the message was full) with the value sealed, opened again
//   when the next message sends them.
//
// A copy of the database alone then gives away no device's credentials, as for the
// sealed columns of devices and enrollments.
import { isUtf8 } from 'node:buffer';
import type { KeyVault } from '../../signing/vault.ts';
import { pendingSchema, type ServerCommand } from './state.ts';

/** How a sealed reply starts in the session row: `sealed:<nonce>:<box>` (base64 has no ':'). */
const SEALED_REPLY = 'sealed:';
/**
 * How an XML reply starts in the session row: `xml:<the XML>`. As base64 it took a third
 * more, and the row of a session's first reply (2.7 KB in bench/dm.ts) took a 4 KiB page
 * of its own; as text, with the awaited commands compact (state.ts), it is just under half
 * a page (about 2,030 bytes there): two share one, and WAL pages per session went 3.65 ->
 * 2.78. Rows written before keep their base64, which has no ':'.
 * Not compressed: the reply is 41% of a session's WAL bytes, but with no reply at all a
 * session cost about 20,000 fewer instructions (binding, SQLite) and 0.82 of its 1.97 WAL
 * pages (about 10-15 µs of CPU with the page writes and the checkpoint), while zlib, even
 * with a preset dictionary (1,656 bytes -> 77), cost 10-14 µs a message, two a session.
 */
const XML_REPLY = 'xml:';
const LESS_THAN = 0x3c;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The reply as the session row keeps it: sealed when one of the commands sent carries a secret. */
export function replyAtRest(vault: KeyVault, bytes: Uint8Array, sent: readonly ServerCommand[]): string {
  if (!sent.some((c) => c.secret === true)) return asText(bytes) ?? Buffer.from(bytes).toString('base64');
  const { sealed, nonce } = vault.seal(bytes);
  return `${SEALED_REPLY}${nonce}:${sealed}`;
}

/**
 * An XML reply as text, when its bytes come back the same from that text: valid UTF-8 (no
 * byte replaced on decoding) and no NUL (PostgreSQL's text holds none). WBXML begins with
 * its version byte, never '<'.
 */
function asText(bytes: Uint8Array): string | undefined {
  if (bytes[0] !== LESS_THAN || bytes.indexOf(0) !== -1 || !isUtf8(bytes)) return undefined;
  return XML_REPLY + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/** The reply's bytes again, from what replyAtRest stored. */
export function replyFromRest(vault: KeyVault, stored: string): Uint8Array {
  if (stored.startsWith(XML_REPLY)) return Buffer.from(stored.slice(XML_REPLY.length), 'utf8');
  if (!stored.startsWith(SEALED_REPLY)) return Buffer.from(stored, 'base64');
  const [nonce = '', sealed = ''] = stored.slice(SEALED_REPLY.length).split(':');
  return vault.open(sealed, nonce);
}

/** Commands awaiting their Status, without the secret values they carried. */
export function awaitedAtRest<T extends ServerCommand>(commands: T[]): T[] {
  if (!commands.some((c) => c.secret === true)) return commands;
  return commands.map((c) => {
    if (c.secret !== true || c.data === undefined) return c;
    const { data: _secret, ...rest } = c;
    return rest as T;
  });
}

/** Commands not sent yet, their secret values sealed. */
export function pendingAtRest(vault: KeyVault, commands: ServerCommand[]): ServerCommand[] {
  if (!commands.some((c) => c.secret === true)) return commands;
  return commands.map((c) => {
    if (c.secret !== true || c.data === undefined) return c;
    const { data, ...rest } = c;
    return { ...rest, sealedData: vault.seal(encoder.encode(data)) };
  });
}

/** The session's pending commands (JSON) with their sealed values opened, ready to send. */
export function pendingFromRest(vault: KeyVault, pending: string): string {
  // Most sessions hold none: no parsing on the hot path.
  if (!pending.includes('"sealedData"')) return pending;
  return JSON.stringify(
    pendingSchema.parse(JSON.parse(pending)).map((c) => {
      if (c.sealedData === undefined) return c;
      const { sealedData, ...rest } = c;
      return { ...rest, data: decoder.decode(vault.open(sealedData.sealed, sealedData.nonce)) };
    }),
  );
}
