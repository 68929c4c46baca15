import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type DownloadGrant, issueDownloadToken, MAX_TOKEN_LENGTH, verifyDownloadToken } from '../../src/deployments/download-grant.ts';
import { KeyVault } from '../../src/signing/vault.ts';

const key = new Uint8Array(randomBytes(32));
const now = 1_700_000_000_000;
const grant: DownloadGrant = { packageId: 'pkg_abc', deploymentId: 'dep_abc', deviceId: 'IMEI:490154203237518', expiresAt: now + 60_000 };

/** The token with one character replaced by another of the base64url alphabet. */
function flip(token: string, at: number): string {
  const c = token[at];
  return `${token.slice(0, at)}${c === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
}

describe('download tokens', () => {
  it('verifies a token it issued, giving back the grant', () => {
    const token = issueDownloadToken(key, grant);
    expect(token).toMatch(/^[\w-]+\.[\w-]{43}$/);
    expect(verifyDownloadToken(key, token, now)).toEqual(grant);
  });

  it('refuses a token at and after its expiry as expired', () => {
    const token = issueDownloadToken(key, grant);
    expect(verifyDownloadToken(key, token, grant.expiresAt - 1)).toEqual(grant);
    expect(verifyDownloadToken(key, token, grant.expiresAt)).toEqual({ error: 'expired' });
  });

  it('refuses a token signed with another key as forged, even when expired', () => {
    const token = issueDownloadToken(new Uint8Array(randomBytes(32)), { ...grant, expiresAt: 1 });
    expect(verifyDownloadToken(key, token, now)).toEqual({ error: 'forged' });
  });

  it('refuses a token with any one character of it changed', () => {
    const token = issueDownloadToken(key, grant);
    const dot = token.indexOf('.');
    for (let at = 0; at < token.length; at += 1) {
      if (at === dot) continue;
      expect(verifyDownloadToken(key, flip(token, at), now), `character ${at}`).toEqual({ error: 'forged' });
    }
  });

  it('refuses a payload swapped in from another valid token', () => {
    const mine = issueDownloadToken(key, grant);
    const other = issueDownloadToken(key, { ...grant, packageId: 'pkg_other' });
    const swapped = `${other.split('.')[0]}.${mine.split('.')[1]}`;
    expect(verifyDownloadToken(key, swapped, now)).toEqual({ error: 'forged' });
  });

  it.each([
    ['empty', ''],
    ['no dot', 'abcdef'],
    ['three parts', 'a.b.c'],
    ['empty signature', 'abc.'],
    ['characters outside base64url', 'ab+c.de/f'],
    ['padding', 'abc=.def='],
    ['over the length limit', `${'a'.repeat(MAX_TOKEN_LENGTH)}.b`],
  ])('refuses a malformed token (%s)', (_, token) => {
    expect(verifyDownloadToken(key, token, now)).toEqual({ error: 'malformed' });
  });

  it('refuses a correctly signed payload that is not a grant as malformed', () => {
    const payload = Buffer.from(JSON.stringify({ packageId: 'pkg_abc' })).toString('base64url');
    const token = `${payload}.${createHmac('sha256', key).update(payload).digest('base64url')}`;
    expect(verifyDownloadToken(key, token, now)).toEqual({ error: 'malformed' });
  });
});

describe('KeyVault.deriveKey', () => {
  const master = new Uint8Array(randomBytes(32));

  it('derives the same key from the same master key and purpose, in any vault', () => {
    expect(KeyVault.fromKey(master).deriveKey('download')).toEqual(KeyVault.fromKey(new Uint8Array(master)).deriveKey('download'));
    expect(KeyVault.fromKey(master).deriveKey('download')).toHaveLength(32);
  });

  it('derives different keys for different purposes and different master keys', () => {
    const vault = KeyVault.fromKey(master);
    expect(vault.deriveKey('download')).not.toEqual(vault.deriveKey('other'));
    expect(vault.deriveKey('download')).not.toEqual(KeyVault.fromKey(new Uint8Array(randomBytes(32))).deriveKey('download'));
    expect(vault.deriveKey('download')).not.toEqual(master);
  });

  it('makes tokens that another vault with the same master key accepts', () => {
    const token = issueDownloadToken(KeyVault.fromKey(master).deriveKey('download'), grant);
    expect(verifyDownloadToken(KeyVault.fromKey(new Uint8Array(master)).deriveKey('download'), token, now)).toEqual(grant);
  });
});
