// The `.fota` single file (USB stick, media card, offline use):
//   "FOTA1\n" | envelope length (uint32 big-endian) | envelope JSON (UTF-8) | payload bytes
// The writer streams the payload and re-hashes it on the way, so a payload that changed
// after it was signed is caught before the file appears, and returns where the payload
// starts, so no caller reads the file back to learn it. The reader checks the length
// field against the real file size before reading anything it names.
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../errors.ts';
import { writeAtomically, statInputFile } from '../files.ts';
import { ChunkHasher } from '../hashing.ts';
import { envelopeSchema, type Envelope } from '../signing/envelope.ts';
import type { PackageEnvelope } from './manifest.ts';

export const FOTA_MAGIC = Buffer.from('FOTA1\n', 'ascii');
export const HEADER_SIZE = FOTA_MAGIC.length + 4;
/** An envelope is a few KiB (one hash per MiB of payload); anything near this is hostile. */
export const MAX_ENVELOPE_SIZE = 16 * 1024 * 1024;

export interface FotaFile {
  path: string;
  /** Parsed but NOT verified: check the signatures before trusting any of it. */
  envelope: Envelope<Record<string, unknown>>;
  payloadOffset: number;
  payloadSize: number;
}

/** Thrown when a file is not a readable `.fota` package at all (FUMO 402). */
export class PackageFormatError extends AppError {
  constructor(message: string) {
    super('INTEGRITY', message);
  }
}

export async function readFotaFile(path: string): Promise<FotaFile> {
  const info = await statInputFile(path, 'package');
  if (info.size < HEADER_SIZE) {
    throw new PackageFormatError(`${path} is ${info.size} bytes, too short to be a .fota package`);
  }
  const handle = await open(path, 'r');
  try {
    const header = Buffer.alloc(HEADER_SIZE);
    await handle.read(header, 0, HEADER_SIZE, 0);
    if (!header.subarray(0, FOTA_MAGIC.length).equals(FOTA_MAGIC)) {
      throw new PackageFormatError(`${path} is not a .fota package (no FOTA1 magic)`);
    }
    const length = header.readUInt32BE(FOTA_MAGIC.length);
    if (length > info.size - HEADER_SIZE) {
      throw new PackageFormatError(
        `${path}: envelope length ${length} runs past the end of the file (${info.size - HEADER_SIZE} bytes after the header); the file is truncated or damaged`,
      );
    }
    if (length > MAX_ENVELOPE_SIZE) {
      throw new PackageFormatError(`${path}: envelope length ${length} exceeds the ${MAX_ENVELOPE_SIZE}-byte limit`);
    }
    const text = Buffer.alloc(length);
    await handle.read(text, 0, length, HEADER_SIZE);
    return {
      path,
      envelope: parseEnvelope(text, path),
      payloadOffset: HEADER_SIZE + length,
      payloadSize: info.size - HEADER_SIZE - length,
    };
  } finally {
    await handle.close();
  }
}

export function parseEnvelope(bytes: Uint8Array, name: string): Envelope<Record<string, unknown>> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new PackageFormatError(`${name}: envelope is not valid UTF-8 JSON`);
  }
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PackageFormatError(`${name}: envelope ${issue ? `${issue.path.join('.') || 'root'} ${issue.message}` : 'has the wrong shape'}`);
  }
  return parsed.data;
}

export function encodeHeader(envelope: PackageEnvelope): Buffer {
  const json = Buffer.from(JSON.stringify(envelope), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return Buffer.concat([FOTA_MAGIC, length, json]);
}

/** Where things are in a `.fota` file, known to its writer without reading it back. */
export interface FotaLayout {
  payloadOffset: number;
  payloadSize: number;
  /** Of the whole file: header, envelope and payload. */
  size: number;
}

/**
 * The bytes of a `.fota` file, streamed from the payload file, for a writer that is not a
 * local path (an artifact store). The payload is hashed on the way: if it is not what the
 * envelope signs, the stream fails after its last byte instead of ending, so a consumer
 * that stores only what ends (a staged artifact, a temporary file) keeps nothing.
 */
export function fotaFileBytes(envelope: PackageEnvelope, payloadPath: string): { layout: FotaLayout; bytes: AsyncIterable<Uint8Array> } {
  const header = encodeHeader(envelope);
  const expected = envelope.signed.payload;
  const layout = { payloadOffset: header.length, payloadSize: expected.size, size: header.length + expected.size };
  async function* bytes(): AsyncGenerator<Uint8Array> {
    yield header;
    const hasher = new ChunkHasher(expected.chunkSize);
    for await (const piece of createReadStream(payloadPath, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
      hasher.update(piece);
      yield piece;
    }
    const got = hasher.digest();
    if (got.sha256 !== expected.sha256 || got.size !== expected.size) {
      throw new AppError('INTEGRITY', `payload ${payloadPath} changed while it was being packaged; nothing was written`);
    }
  }
  return { layout, bytes: bytes() };
}

/** Writes header + payload to `outPath` (atomically), verifying the payload on the way. */
export async function writeFotaFile(outPath: string, envelope: PackageEnvelope, payloadPath: string): Promise<FotaLayout> {
  const { layout, bytes } = fotaFileBytes(envelope, payloadPath);
  await writeAtomically(outPath, (tmp) => pipeline(bytes, createWriteStream(tmp, { flags: 'wx' })));
  return layout;
}
