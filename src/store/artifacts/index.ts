// Picks the artifact store from configuration: MinIO/S3 when an endpoint is configured
// (scale-out), else the local directory (the embedded default). The config module reads
// FOTA_S3_* from the environment; this function only receives the values. The S3 store
// (the MinIO client, ~40 MiB of memory once loaded) is imported only when configured.
import type { ArtifactStore } from './artifact-store.ts';
import { LocalArtifactStore } from './local-store.ts';

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

export async function createArtifactStore(config: ArtifactStoreConfig): Promise<ArtifactStore> {
  const { s3 } = config;
  if (s3) {
    const { S3ArtifactStore } = await import('./s3-store.ts');
    return S3ArtifactStore.fromUrl(s3.endpoint, {
      bucket: s3.bucket,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
      region: s3.region,
    });
  }
  return new LocalArtifactStore(config.artifactsDir);
}
