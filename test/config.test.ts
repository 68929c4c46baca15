import { describe, expect, it } from 'vitest';
import { databaseUrlOption, loadConfig } from '../src/config.ts';

describe('configuration', () => {
  it('runs on embedded defaults with an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 8080, deltaSources: 5, maxDeltaRatio: 0.6, jobAttempts: 3 });
    expect(config.dataDir).toMatch(/\/data$/);
    expect(config.s3).toBeUndefined();
    expect(config.gcGraceMs).toBe(60 * 60_000);
    expect(config.queryExpiryMs).toBe(24 * 3_600_000);
    expect(config.download.stallSeconds).toBe(60);
    expect(loadConfig({ FOTA_DOWNLOAD_STALL_SECONDS: '2.5' }).download.stallSeconds).toBe(2.5);
    expect(config.download.maxPerDeployment).toBe(4);
    expect(loadConfig({ FOTA_DOWNLOAD_MAX_PER_DEPLOYMENT: '1' }).download.maxPerDeployment).toBe(1);
  });

  it.each([
    [{ FOTA_PORT: 'eighty' }, /FOTA_PORT/],
    // A server sweeping with no grace could take an upload's bytes before its row is written.
    [{ FOTA_GC_GRACE_MINUTES: '0' }, /FOTA_GC_GRACE_MINUTES/],
    [{ FOTA_MAX_DELTA_RATIO: '2' }, /FOTA_MAX_DELTA_RATIO/],
    [{ FOTA_MASTER_KEY: 'short' }, /FOTA_MASTER_KEY must be 32 bytes/],
    [{ FOTA_ADMIN_TOKEN: 'weak' }, /FOTA_ADMIN_TOKEN must be at least 16/],
    [{ FOTA_S3_ENDPOINT: 'http://127.0.0.1:9000' }, /set all four or none/],
    [{ FOTA_DM_AUTH_MAX_FAILURES: '0' }, /FOTA_DM_AUTH_MAX_FAILURES/],
    [{ FOTA_DM_AUTH_LOCKOUT_SECONDS: 'forever' }, /FOTA_DM_AUTH_LOCKOUT_SECONDS/],
    [{ FOTA_DM_ADDRESS_MAX_FAILURES: '-1' }, /FOTA_DM_ADDRESS_MAX_FAILURES/],
    [{ FOTA_WEBHOOK_ALLOW_PRIVATE: 'yes' }, /FOTA_WEBHOOK_ALLOW_PRIVATE/],
    [{ FOTA_JOBS: 'maybe' }, /FOTA_JOBS/],
    [{ FOTA_QUERY_EXPIRY_HOURS: '0' }, /FOTA_QUERY_EXPIRY_HOURS/],
    [{ FOTA_JOB_POLL_MS: '0' }, /FOTA_JOB_POLL_MS/],
    [{ FOTA_HEALTH_TIMEOUT_MS: 'soon' }, /FOTA_HEALTH_TIMEOUT_MS/],
    // 0 would cut every download off at its first full socket.
    [{ FOTA_DOWNLOAD_STALL_SECONDS: '0' }, /FOTA_DOWNLOAD_STALL_SECONDS/],
    [{ FOTA_DOWNLOAD_STALL_SECONDS: 'never' }, /FOTA_DOWNLOAD_STALL_SECONDS/],
    // 0 would refuse every download.
    [{ FOTA_DOWNLOAD_MAX_PER_DEPLOYMENT: '0' }, /FOTA_DOWNLOAD_MAX_PER_DEPLOYMENT/],
    [{ FOTA_DOWNLOAD_MAX_PER_DEPLOYMENT: '2.5' }, /FOTA_DOWNLOAD_MAX_PER_DEPLOYMENT/],
    [{ FOTA_DATABASE_URL: 'mysql://fota:pw@db/fota' }, /FOTA_DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/],
    [{ FOTA_DATABASE_URL: 'fota.db' }, /FOTA_DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/],
  ])('names the variable when %j is wrong', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('keeps no delta cache unless FOTA_DELTA_CACHE names a directory', () => {
    expect(loadConfig({}).deltaCacheDir).toBeUndefined();
    expect(loadConfig({ FOTA_DELTA_CACHE: 'cache/deltas' }).deltaCacheDir).toMatch(/^\/.*\/cache\/deltas$/);
  });

  it('throttles DM authentication by default, and takes 0 to turn the address limit off', () => {
    expect(loadConfig({}).dm.auth).toEqual({ maxFailures: 10, lockoutMs: 300_000, addressMaxFailures: 100 });
    expect(loadConfig({ FOTA_DM_AUTH_MAX_FAILURES: '3', FOTA_DM_AUTH_LOCKOUT_SECONDS: '60', FOTA_DM_ADDRESS_MAX_FAILURES: '0' }).dm.auth).toEqual({ maxFailures: 3, lockoutMs: 60_000, addressMaxFailures: 0 });
  });

  it('takes S3 settings and a hex master key', () => {
    const config = loadConfig({
      FOTA_S3_ENDPOINT: 'http://127.0.0.1:9000',
      FOTA_S3_BUCKET: 'fota',
      FOTA_S3_ACCESS_KEY: 'a',
      FOTA_S3_SECRET_KEY: 'b',
      FOTA_MASTER_KEY: 'ab'.repeat(32),
    });
    expect(config.s3).toEqual({ endpoint: 'http://127.0.0.1:9000', bucket: 'fota', accessKey: 'a', secretKey: 'b' });
    expect(config.masterKey).toHaveLength(32);
  });

  it.each([
    [{}, false],
    [{ FOTA_WEBHOOK_ALLOW_PRIVATE: 'false' }, false],
    [{ FOTA_WEBHOOK_ALLOW_PRIVATE: 'true' }, true],
    [{ FOTA_WEBHOOK_ALLOW_PRIVATE: '1' }, true],
  ])('refuses private device webhooks unless told: %j', (env, allowed) => {
    expect(loadConfig(env).dm.allowPrivateWebhooks).toBe(allowed);
  });

  it('runs package jobs in the server unless FOTA_JOBS is off, looking for them every FOTA_JOB_POLL_MS', () => {
    expect(loadConfig({})).toMatchObject({ jobs: true, jobPollMs: 1000, healthTimeoutMs: 2000 });
    expect(loadConfig({ FOTA_JOBS: 'off', FOTA_JOB_POLL_MS: '250' })).toMatchObject({ jobs: false, jobPollMs: 250 });
    expect(loadConfig({ FOTA_JOBS: 'false' }).jobs).toBe(false);
    expect(loadConfig({ FOTA_JOBS: 'on' }).jobs).toBe(true);
  });

  it('takes a PostgreSQL URL from FOTA_DATABASE_URL or --database, and never repeats it in an error', () => {
    expect(loadConfig({}).databaseUrl).toBeUndefined();
    expect(loadConfig({ FOTA_DATABASE_URL: 'postgres://fota:pw@db.example:5432/fota' }).databaseUrl).toBe('postgres://fota:pw@db.example:5432/fota');
    expect(databaseUrlOption('postgresql://db.example/fota', '--database')).toBe('postgresql://db.example/fota');
    for (const bad of ['mysql://fota:s3cret@db/fota', 'postgres://', 'postgres:s3cret']) {
      expect(() => databaseUrlOption(bad, '--database')).toThrow(/^--database must be a postgres:\/\/ or postgresql:\/\/ URL/);
      expect(() => loadConfig({ FOTA_DATABASE_URL: bad })).toThrow(expect.objectContaining({ message: expect.not.stringContaining('s3cret') }));
    }
  });
});
