// Picks the artifact store from configuration: MinIO/S3 when an endpoint is configured
// (scale-out), else the local directory (the embedded default). The config module reads
// FOTA_S3_* from the environment; this function only receives the values.
import type { ArtifactStore } from './artifact-store.ts';
import { LocalArtifactStore } from './local-store.ts';
import { S3ArtifactStore } from './s3-store.ts';

export interface ArtifactStoreConfig {
  artifactsDir: string;
  s3?: {
    /** An endpoint URL such as `http://127.0.0.1:9000` (FOTA_S3_ENDPOINT). */
    endpoint: string;
    bucket: string;
    accessKey: string;
    secretKey: string;
    region?: string;
  };
}

export function createArtifactStore(config: ArtifactStoreConfig): ArtifactStore {
  const { s3 } = config;
  if (s3) {
    return S3ArtifactStore.fromUrl(s3.endpoint, {
      bucket: s3.bucket,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
      region: s3.region,
    });
  }
  return new LocalArtifactStore(config.artifactsDir);
}
