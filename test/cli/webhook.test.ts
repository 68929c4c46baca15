// `fota webhook add|list|remove` against a real server on loopback: the secret printed
// once at add, the list without it, removal, and the server's refusals as exit 1.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Output } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';
import { ALLOW_LOOPBACK_WEBHOOKS, startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;

beforeAll(async () => {
  vi.stubEnv('FOTA_TOKEN', '');
  vi.stubEnv('FOTA_SERVER', '');
  server = await startTestServer({}, { env: ALLOW_LOOPBACK_WEBHOOKS });
});
afterAll(() => {
  vi.unstubAllEnvs();
});

async function run(args: string[], token = server.tokens.admin): Promise<{ code: number; stdout: string; stderr: string }> {
  const seen = { stdout: '', stderr: '' };
  const io: Output = { out: (text) => void (seen.stdout += text), err: (text) => void (seen.stderr += text), interactive: false };
  const code = await main([...args, '--server', server.url, '--token', token], io);
  return { code, ...seen };
}

describe('fota webhook', () => {
  it('adds a webhook and prints its secret once, lists it without the secret, removes it', async () => {
    const added = await run(['webhook', 'add', 'http://127.0.0.1:9/hook', '--events', 'campaign.paused,campaign.completed']);
    expect(added.code).toBe(0);
    const [, id, secret] = /^id: (whk_\w+)\nevents: campaign.paused,campaign.completed\nsecret: (whsec_[\w-]+)\n$/.exec(added.stdout) ?? [];
    expect(id).toBeDefined();
    expect(added.stderr).toContain('the secret is shown once');
    const listed = await run(['webhook', 'list']);
    expect(listed).toMatchObject({ code: 0, stdout: `${id}  http://127.0.0.1:9/hook  events: campaign.paused,campaign.completed  delivered 0, pending 0, failed 0\n` });
    expect(listed.stdout).not.toContain(String(secret));
    expect(await run(['webhook', 'remove', String(id)])).toMatchObject({ code: 0, stdout: `removed ${id}\n` });
    expect(await run(['webhook', 'list'])).toMatchObject({ code: 0, stdout: 'no webhooks\n' });
  });

  it('answers the server refusals with exit 1 and bad usage with exit 2', async () => {
    expect(await run(['webhook', 'remove', 'whk_nope'])).toMatchObject({ code: 1, stderr: 'fota: server refused (404 NOT_FOUND): no webhook whk_nope\n' });
    expect(await run(['webhook', 'add', 'ftp://example.com/'])).toMatchObject({ code: 1, stderr: 'fota: server refused (400 VALIDATION): webhook URL must be http or https, got ftp\n' });
    expect((await run(['webhook', 'list'], server.tokens.operator)).code).toBe(1);
    expect((await run(['webhook', 'add'])).code).toBe(2);
    expect((await run(['webhook', 'explode'])).code).toBe(2);
  });
});
