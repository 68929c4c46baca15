// The key vault's master key file: made once per data directory, whoever comes first.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KeyVault } from '../../src/signing/vault.ts';
import { tempDir } from '../support/harness.ts';

describe('KeyVault.open', () => {
  it('gives processes that open a fresh data directory at once one master key, in a file only its owner reads', async () => {
    const dir = tempDir();
    const vaults = await Promise.all(Array.from({ length: 8 }, () => KeyVault.open(dir)));
    const keys = new Set(vaults.map((vault) => Buffer.from(vault.deriveKey('download')).toString('hex')));
    expect(keys.size).toBe(1);
    // What one sealed, any other opens.
    const sealed = vaults[0]?.seal(new Uint8Array([1, 2, 3]));
    expect(sealed && vaults[7]?.open(sealed.sealed, sealed.nonce)).toEqual(new Uint8Array([1, 2, 3]));
    expect((await stat(join(dir, 'master.key'))).mode & 0o777).toBe(0o600);
    expect(Buffer.from((await KeyVault.open(dir)).deriveKey('download')).toString('hex')).toEqual([...keys][0]);
  });
});
