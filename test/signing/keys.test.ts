import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateKey, keyIdOf, readPublicKey, readSigningKey, writeKeyFiles } from '../../src/signing/keys.ts';
import { tempDir } from '../support/harness.ts';

describe('key files', () => {
  it('writes the secret key with mode 0600 and a public file without the secret', async () => {
    const dir = tempDir();
    const key = generateKey();
    const { secretPath, publicPath } = await writeKeyFiles(join(dir, 'k.json'), key);
    expect(publicPath).toBe(join(dir, 'k.pub.json'));
    expect((await stat(secretPath)).mode & 0o777).toBe(0o600);
    const pub = JSON.parse(await readFile(publicPath, 'utf8'));
    expect(pub).toEqual({ type: 'ed25519', keyid: key.keyid, publicKey: Buffer.from(key.publicKey).toString('base64') });
    expect(key.keyid).toBe(keyIdOf(key.publicKey));
    const back = await readSigningKey(secretPath);
    expect(Buffer.from(back.secretKey).equals(Buffer.from(key.secretKey))).toBe(true);
    expect((await readPublicKey(publicPath)).keyid).toBe(key.keyid);
    expect((await readPublicKey(secretPath)).keyid).toBe(key.keyid);
  });

  it('refuses a secret key file that others can read, and says how to fix it', async () => {
    const dir = tempDir();
    const { secretPath } = await writeKeyFiles(join(dir, 'k.json'), generateKey());
    await chmod(secretPath, 0o644);
    await expect(readSigningKey(secretPath)).rejects.toThrow(/mode 0644.*chmod 600/);
  });

  it('refuses a public key file where a signing key is needed', async () => {
    const dir = tempDir();
    const { publicPath } = await writeKeyFiles(join(dir, 'k.json'), generateKey());
    await chmod(publicPath, 0o600);
    await expect(readSigningKey(publicPath)).rejects.toThrow(/no secretKey/);
  });

  const good = generateKey();
  const goodFile = {
    type: 'ed25519',
    keyid: good.keyid,
    publicKey: Buffer.from(good.publicKey).toString('base64'),
    secretKey: Buffer.from(good.secretKey).toString('base64'),
  };
  const other = generateKey();

  it.each([
    ['not JSON', '{"type":', /not JSON/],
    ['the wrong type', JSON.stringify({ ...goodFile, type: 'rsa' }), /type/],
    ['a missing keyid', JSON.stringify({ ...goodFile, keyid: undefined }), /keyid/],
    ['a keyid of another key', JSON.stringify({ ...goodFile, keyid: other.keyid }), /keyid does not match/],
    ['a short public key', JSON.stringify({ ...goodFile, publicKey: 'AAAA' }), /32 bytes/],
    ['a secret key of another key', JSON.stringify({ ...goodFile, secretKey: Buffer.from(other.secretKey).toString('base64') }), /does not belong/],
    ['non-base64 text', JSON.stringify({ ...goodFile, publicKey: '!!!' }), /base64/],
    ['an array', '[]', /key file/],
    ['a huge file', JSON.stringify({ ...goodFile, pad: 'x'.repeat(100_000) }), /bytes; a key file/],
  ])('refuses a key file with %s', async (_name, text, message) => {
    const path = join(tempDir(), 'bad.json');
    await writeFile(path, text, { mode: 0o600 });
    await expect(readSigningKey(path)).rejects.toThrow(message);
  });

  it('names a missing file and a directory plainly', async () => {
    const dir = tempDir();
    await expect(readPublicKey(join(dir, 'nope.json'))).rejects.toThrow(/cannot read public key file .*nope.json: no such file/);
    await mkdir(join(dir, 'adir'));
    await expect(readPublicKey(join(dir, 'adir'))).rejects.toThrow(/is a directory/);
  });
});
