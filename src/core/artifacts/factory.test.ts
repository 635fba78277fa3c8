import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config.js';
import { createArtifactStore } from './factory.js';

describe('artifact store selection', () => {
  it('defaults to the local store in the data dir', async () => {
    const config = loadConfig({ POLAR_DATA_DIR: '/tmp/polar-factory-test' });
    expect(config.artifactStore).toBe('local');
    expect((await createArtifactStore(config)).kind).toBe('local');
  });

  it('selects S3 with path-style URLs when an endpoint is set', async () => {
    const config = loadConfig({
      POLAR_ARTIFACT_STORE: 's3',
      POLAR_S3_BUCKET: 'models',
      POLAR_S3_ENDPOINT: 'http://127.0.0.1:9000',
      POLAR_S3_PREFIX: 'polar/',
    });
    expect(config.s3).toEqual({
      bucket: 'models',
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
      prefix: 'polar/',
      forcePathStyle: true,
    });
    expect((await createArtifactStore(config)).kind).toBe('s3');
    expect(loadConfig({ POLAR_ARTIFACT_STORE: 's3', POLAR_S3_BUCKET: 'models' }).s3.forcePathStyle).toBe(
      false,
    );
  });

  it('names the variable that is missing or wrong', () => {
    expect(() => loadConfig({ POLAR_ARTIFACT_STORE: 's3' })).toThrow(/POLAR_S3_BUCKET/);
    expect(() => loadConfig({ POLAR_ARTIFACT_STORE: 'ftp' })).toThrow(ConfigError);
    for (const prefix of ['../x', '../', 'a/../', '/abs/', 'a//']) {
      expect(() => loadConfig({ POLAR_S3_PREFIX: prefix })).toThrow(/POLAR_S3_PREFIX/);
    }
    expect(loadConfig({ POLAR_S3_PREFIX: 'team.a/polar/' }).s3.prefix).toBe('team.a/polar/');
  });
});
