// Application manifests are strict: malformed or hostile ones never parse, and neither
// manifest kind passes for the other.
import { describe, expect, it } from 'vitest';
import { appManifestSchema } from '../../src/packages/app-manifest.ts';
import { manifestSchema } from '../../src/packages/manifest.ts';

const h = (c: string) => c.repeat(64);
const good = {
  type: 'fota.package',
  formatVersion: 1,
  kind: 'application',
  manufacturer: 'acme',
  model: 'm',
  component: { id: 'com.acme.maps', version: '2.0' },
  source: null,
  target: { version: '2.0', sha256: h('a'), size: 10 },
  payload: { kind: 'full', sha256: h('a'), size: 10, chunkSize: 1024, chunks: [h('b')] },
  createdAt: '2026-12-05T00:00:00.000Z',
};

describe('application manifest', () => {
  it('parses a good one', () => {
    expect(appManifestSchema.parse(good).component.id).toBe('com.acme.maps');
  });

  it.each([
    ['no kind', { ...good, kind: undefined }],
    ['firmware kind', { ...good, kind: 'firmware' }],
    ['an unknown field', { ...good, install: 'rm -rf /' }],
    ['a path in the component id', { ...good, component: { id: '../../bin/sh', version: '2.0' } }],
    ['markup in the version', { ...good, component: { id: 'x', version: '<b>' }, target: { ...good.target, version: '<b>' } }],
    ['versions that disagree', { ...good, component: { id: 'x', version: '3.0' } }],
    ['a full payload that is not the target', { ...good, payload: { ...good.payload, sha256: h('c') } }],
    ['a delta without a source', { ...good, payload: { ...good.payload, kind: 'bsdiff40' } }],
    ['too few chunk hashes', { ...good, payload: { ...good.payload, chunks: [] } }],
    ['a negative size', { ...good, target: { ...good.target, size: -1 } }],
    ['an uppercase hash', { ...good, target: { ...good.target, sha256: h('A') } }],
  ])('refuses %s', (_name, manifest) => {
    expect(appManifestSchema.safeParse(manifest).success).toBe(false);
  });

  it('is no firmware manifest', () => {
    expect(manifestSchema.safeParse({ ...good, target: { ...good.target, securityVersion: 0 } }).success).toBe(false);
  });
});
