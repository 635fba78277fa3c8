import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('config', () => {
  it('has working defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 8000,
      databaseUrl: undefined,
      logLevel: 'info',
      logFiles: true,
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('parses values', () => {
    const c = loadConfig({
      POLAR_PORT: '9001',
      POLAR_DATABASE_URL: 'postgres://u@h/db',
      POLAR_ALLOWED_HOSTS: 'a.example, b.example ,',
      POLAR_LOG_FILES: 'false',
      POLAR_DATA_DIR: 'relative/dir',
    });
    expect(c.port).toBe(9001);
    expect(c.allowedHosts).toEqual(['a.example', 'b.example']);
    expect(c.logFiles).toBe(false);
    expect(c.dataDir.startsWith('/')).toBe(true);
  });

  it('names every bad variable', () => {
    try {
      loadConfig({ POLAR_PORT: 'eighty', POLAR_DATABASE_URL: 'mysql://x', POLAR_ADMIN_PASSWORD: 'short' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      expect(msg).toContain('POLAR_PORT');
      expect(msg).toContain('POLAR_DATABASE_URL');
      expect(msg).toContain('POLAR_ADMIN_PASSWORD');
    }
  });

  it('points model imports at the public hub unless POLAR_HF_ENDPOINT names another', () => {
    expect(loadConfig({}).hfEndpoint).toBe('https://huggingface.co');
    expect(loadConfig({ POLAR_HF_ENDPOINT: 'http://127.0.0.1:9000/' }).hfEndpoint).toBe(
      'http://127.0.0.1:9000',
    );
    expect(() => loadConfig({ POLAR_HF_ENDPOINT: 'not a url' })).toThrow(/POLAR_HF_ENDPOINT/);
  });

  it('ignores empty values and variables of other programs', () => {
    expect(loadConfig({ POLAR_PORT: '', PORT: '1' }).port).toBe(8000);
  });
});
