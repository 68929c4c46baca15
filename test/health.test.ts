// /healthz names the part that fails (database, object store) with a 503, so a load
// balancer takes the process out of rotation, and it never hangs and never says more
// than which part: no endpoint, path, credential or error text.
import { rm, writeFile } from 'node:fs/promises';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import type { Context } from '../src/context.ts';
import { createApp } from '../src/server.ts';
import { LocalArtifactStore } from '../src/store/artifacts/local-store.ts';
import { createTestApi } from './support/api.ts';
import { tempDir, tempDirFor } from './support/harness.ts';
import { S3_KEYS, startS3rver } from './support/s3rver.ts';
import { startTestServer } from './support/server.ts';

interface HealthBody {
  ok: boolean;
  database: string;
  objectStore: string;
  role: string;
  process: string;
}

async function health(url: string): Promise<{ status: number; body: HealthBody; text: string }> {
  const res = await fetch(`${url}/healthz`);
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as HealthBody, text };
}

/** The app on a context with some parts replaced: no port, no timers. */
async function appWith(parts: (ctx: Context) => Partial<Context>, healthTimeoutMs = 2_000) {
  const api = await createTestApi({ healthTimeoutMs }, onTestFinished);
  const app = await createApp({ ...api.ctx, ...parts(api.ctx) });
  return async () => {
    const res = await app.request('/healthz');
    return { status: res.status, body: (await res.json()) as HealthBody };
  };
}

describe('/healthz', () => {
  it('answers 200 without a token, with every part ok, which process this is and that it is a server', async () => {
    const server = await startTestServer();
    const { status, body } = await health(server.url);
    expect(status).toBe(200);
    expect(body).toEqual({ ok: true, database: 'ok', objectStore: 'ok', role: 'server', process: expect.stringMatching(new RegExp(`:${process.pid}$`)) });
  });

  it('answers 503 naming the object store while the S3 endpoint is down, and 200 once it is back', async () => {
    const directory = tempDirFor('s3rver-health', afterAll);
    let s3 = await startS3rver({ directory });
    afterAll(() => s3.close());
    const endpoint = `http://127.0.0.1:${s3.port}`;
    const server = await startTestServer({ s3: { endpoint, bucket: 'fota-health', ...S3_KEYS } });
    expect((await health(server.url)).body).toMatchObject({ ok: true, objectStore: 'ok' });

    await s3.close();
    const down = await health(server.url);
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ ok: false, database: 'ok', objectStore: 'unreachable' });
    // Public: which part, not where it is, how to log in to it, or what the client said.
    for (const secret of [String(s3.port), '127.0.0.1', 'fota-health', S3_KEYS.secretKey, 'ECONNREFUSED', 'at ']) expect(down.text).not.toContain(secret);

    s3 = await startS3rver({ directory, port: s3.port });
    expect((await health(server.url)).status).toBe(200);
  });

  it('answers 503 naming the object store when the artifact directory is gone', async () => {
    const server = await startTestServer();
    const root = server.ctx.config.artifactsDir;
    await rm(root, { recursive: true, force: true });
    await writeFile(root, 'a file where the artifact directory was');
    const { status, body, text } = await health(server.url);
    expect(status).toBe(503);
    expect(body).toMatchObject({ ok: false, database: 'ok', objectStore: 'unreachable' });
    expect(text).not.toContain(root);
  });

  it('answers 503 naming the database when it cannot be read', async () => {
    const api = await createTestApi({}, onTestFinished);
    await api.ctx.db.close();
    const app = await createApp(api.ctx);
    const probe = async () => {
      const res = await app.request('/healthz');
      return { status: res.status, body: (await res.json()) as HealthBody };
    };
    expect(await probe()).toMatchObject({ status: 503, body: { ok: false, database: 'unreachable', objectStore: 'ok' } });
  });

  it('gives up on a part that hangs after the timeout, and never sends a second probe after one still running', async () => {
    let pings = 0;
    class HangingStore extends LocalArtifactStore {
      override ping(): Promise<void> {
        pings += 1;
        return new Promise(() => {});
      }
    }
    const probe = await appWith(() => ({ artifacts: new HangingStore(tempDir()) }), 150);
    // The store's ping never settles: answers at all are the timeout at work.
    const answers = await Promise.all([probe(), probe(), probe()]);
    for (const answer of answers) expect(answer).toMatchObject({ status: 503, body: { ok: false, database: 'ok', objectStore: 'timeout' } });
    expect(pings).toBe(1);
  });
});
