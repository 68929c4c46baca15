// `fota person create|list` and `fota token create --person` against a real server: an
// admin names a person, gives them two tokens, and sees them listed under that person.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Output } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  vi.stubEnv('FOTA_TOKEN', '');
  vi.stubEnv('FOTA_SERVER', '');
  server = await startTestServer();
});
afterAll(() => {
  vi.unstubAllEnvs();
});

async function fota(args: string[], token = server.tokens.admin) {
  let stdout = '';
  let stderr = '';
  const io: Output = { out: (text) => void (stdout += text), err: (text) => void (stderr += text), interactive: false };
  const code = await main([...args, '--server', server.url, '--token', token], io);
  return { code, stdout, stderr };
}

describe('fota person', () => {
  it('creates a person, gives them two tokens and lists them under that person', async () => {
    const created = await fota(['person', 'create', 'mona', '--display-name', 'Mona Lisa']);
    expect(created).toMatchObject({ code: 0, stdout: expect.stringMatching(/^person: psn_\S+\nlogin: mona\nname: Mona Lisa\n$/) });
    const personId = /^person: (\S+)$/m.exec(created.stdout)?.[1];
    for (const name of ['desk', 'laptop']) {
      const token = await fota(['token', 'create', '--role', 'operator', '--name', name, '--person', 'mona']);
      expect(token.code, token.stderr).toBe(0);
      expect(token.stdout).toContain(`person: ${personId}\n`);
    }
    const listed = await fota(['person', 'list']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`${personId} {2}mona \\(Mona Lisa\\)\\n {4}tok_\\S+ {2}desk {2}operator\\n {4}tok_\\S+ {2}laptop {2}operator\\n`));
    expect(listed.stdout).not.toMatch(/fota_/);
  });

  it('is refused to an operator token (exit 1, the server says why)', async () => {
    const refused = await fota(['person', 'list'], server.tokens.operator);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/403|admin/);
  });

  it('refuses a missing login (exit 2)', async () => {
    expect((await fota(['person', 'create'])).code).toBe(2);
  });
});
