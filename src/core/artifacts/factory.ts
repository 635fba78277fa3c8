import { join } from 'node:path';
import type { Config } from '../../config.js';
import { LocalArtifactStore } from './local.js';
import type { ArtifactStore } from './store.js';

/** The store the configuration selects; the S3 SDK is loaded only when S3 is used. */
export async function createArtifactStore(
  config: Pick<Config, 'dataDir' | 'artifactStore' | 's3'>,
  opts: { maxBytes?: number } = {},
): Promise<ArtifactStore> {
  if (config.artifactStore === 'local')
    return new LocalArtifactStore(join(config.dataDir, 'artifacts'), opts);
  const [{ S3Client }, { S3ArtifactStore }] = await Promise.all([
    import('@aws-sdk/client-s3'),
    import('./s3.js'),
  ]);
  const { bucket, endpoint, region, prefix, forcePathStyle } = config.s3;
  if (!bucket) throw new Error('POLAR_S3_BUCKET is required when POLAR_ARTIFACT_STORE=s3');
  // Credentials are left to the SDK's default chain (env, shared files, instance or pod roles).
  const client = new S3Client({ region, forcePathStyle, ...(endpoint ? { endpoint } : {}) });
  return new S3ArtifactStore({ client, bucket, prefix, ...opts });
}
