// The layer rules of .dependency-cruiser.cjs hold for src/, and they catch what they are
// for: a small tree in test/fixtures/layers breaks each kind of rule once.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const CONFIG = resolve('.dependency-cruiser.cjs');
const CLI = resolve('node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

function cruise(cwd: string): { status: number | null; output: string } {
  const run = spawnSync(process.execPath, [CLI, 'src', '--config', CONFIG, '--output-type', 'err'], { cwd, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('layers', () => {
  it('no import in src/ runs back up a layer, and there is no cycle', () => {
    const { status, output } = cruise(resolve('.'));
    expect(output).toContain('no dependency violations found');
    expect(status).toBe(0);
  });

  it('are enforced: each kind of upward import and a cycle fail the check', () => {
    const { status, output } = cruise(resolve('test/fixtures/layers'));
    expect(status).not.toBe(0);
    for (const rule of [
      'omadm-imports-only-base: src/omadm/codec.ts → src/store/db.ts',
      'libraries-hold-no-server: src/omadm/codec.ts → src/store/db.ts',
      'deployments-below-campaigns: src/deployments/fumo.ts → src/campaigns/engine.ts',
      'dm-stands-alone: src/dm/routes.ts → src/api/auth.ts',
      'device-is-an-honest-client: src/device/agent.ts → src/store/db.ts',
      'domain-is-below-transports: src/builds/upload.ts → src/dm/routes.ts',
      'no-cycles: src/builds/upload.ts',
    ]) {
      expect(output).toContain(rule);
    }
  });
});
