// Seals signing keys at rest: tweetnacl.secretbox under a 32-byte master key, taken from
// FOTA_MASTER_KEY or from a key file (mode 0600) generated in the data directory on first
// start. A stolen database alone does not give away any manufacturer's signing key.
import { createHmac } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { AppError } from '../errors.ts';
import { createFileOnce } from '../files.ts';

export class KeyVault {
  /** Derived keys by purpose: the DM endpoint and the console ask for theirs on every request. */
  private readonly derived = new Map<string, Uint8Array>();

  private constructor(private readonly masterKey: Uint8Array) {}

  static fromKey(masterKey: Uint8Array): KeyVault {
    if (masterKey.length !== nacl.secretbox.keyLength) throw new AppError('VALIDATION', 'the master key must be 32 bytes');
    return new KeyVault(masterKey);
  }

  /** Uses the given key, else `<dataDir>/master.key`, creating it (mode 0600) if absent. */
  static async open(dataDir: string, masterKey?: Uint8Array): Promise<KeyVault> {
    if (masterKey) return KeyVault.fromKey(masterKey);
    const path = join(dataDir, 'master.key');
    let info = await stat(path).catch(() => undefined);
    if (!info) {
      const key = nacl.randomBytes(nacl.secretbox.keyLength);
      // Only if still absent: a server and a worker starting at once on a fresh data
      // directory must share one key, or one of them cannot open what the other sealed.
      if (await createFileOnce(path, `${Buffer.from(key).toString('base64')}\n`, 0o600)) return KeyVault.fromKey(key);
      info = await stat(path);
    }
    if ((info.mode & 0o077) !== 0) {
      throw new AppError('VALIDATION', `${path} is accessible by others (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 ${path}`);
    }
    return KeyVault.fromKey(new Uint8Array(Buffer.from((await readFile(path, 'utf8')).trim(), 'base64')));
  }

  seal(secret: Uint8Array): { sealed: string; nonce: string } {
    const nonce = nacl.randomBytes(nacl.secretbox.nonceLength);
    return { sealed: Buffer.from(nacl.secretbox(secret, nonce, this.masterKey)).toString('base64'), nonce: Buffer.from(nonce).toString('base64') };
  }

  /**
   * A 32-byte key for one purpose (e.g. 'download' for signed download URLs):
   * HMAC-SHA256(masterKey, 'fota:' + purpose). Derived rather than stored, so every server
   * process sharing the master key accepts the others' grants with no new secret to
   * distribute, and replacing the master key revokes them all. Derived rather than the
   * master key itself, so a key used for HMAC never doubles as the secretbox key, and one
   * purpose's key reveals nothing about another's.
   */
  deriveKey(purpose: string): Uint8Array {
    if (purpose.length === 0) throw new AppError('VALIDATION', 'a derived key needs a purpose');
    let key = this.derived.get(purpose);
    if (key === undefined) {
      key = new Uint8Array(createHmac('sha256', this.masterKey).update(`fota:${purpose}`).digest());
      this.derived.set(purpose, key);
    }
    // A copy: a caller that wipes or changes its key must not change the next caller's.
    return key.slice();
  }

  open(sealed: string, nonce: string): Uint8Array {
    const opened = nacl.secretbox.open(Buffer.from(sealed, 'base64'), Buffer.from(nonce, 'base64'), this.masterKey);
    if (!opened) throw new AppError('INTEGRITY', 'a sealed signing key cannot be opened: the master key is not the one it was sealed with');
    return opened;
  }
}
