import { describe, expect, it } from 'vitest';
import { RuntimeError } from '../types.js';
import { parseLoadConfig, pipelineFor } from './config.js';

function refusal(fn: () => unknown): RuntimeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RuntimeError) return err;
    throw err;
  }
  throw new Error('expected a RuntimeError');
}

describe('parseLoadConfig', () => {
  it('fills the defaults', () => {
    expect(parseLoadConfig({})).toEqual({ dtype: 'fp32', parallel: 1, pooling: 'mean', normalize: true });
    expect(parseLoadConfig(undefined)).toEqual(parseLoadConfig({}));
  });

  it('accepts every documented option', () => {
    expect(parseLoadConfig({ dtype: 'q8', parallel: 4, pooling: 'cls', normalize: false })).toEqual({
      dtype: 'q8',
      parallel: 4,
      pooling: 'cls',
      normalize: false,
    });
  });

  it.each([
    [{ dtype: 'fp64' }, 'dtype'],
    [{ parallel: 5 }, 'parallel'],
    [{ parallel: 0 }, 'parallel'],
    [{ parallel: 1.5 }, 'parallel'],
    [{ pooling: 'max' }, 'pooling'],
    [{ normalize: 'yes' }, 'normalize'],
    [{ threads: 2 }, 'threads'],
  ])('refuses %j naming the field %s', (config, field) => {
    const err = refusal(() => parseLoadConfig(config));
    expect(err.code).toBe('invalid_load_config');
    expect(err.status).toBe(400);
    expect(err.message).toContain(`"${field}"`);
  });
});

describe('pipelineFor', () => {
  it('maps Polar tasks to pipelines', () => {
    expect(pipelineFor('chat', {})).toBe('text-generation');
    expect(pipelineFor('completion', {})).toBe('text-generation');
    expect(pipelineFor('embedding', {})).toBe('feature-extraction');
    expect(pipelineFor('classification', {})).toBe('text-classification');
  });

  it('falls back on config.json architectures for other tasks', () => {
    expect(pipelineFor('other', { architectures: ['LlamaForCausalLM'] })).toBe('text-generation');
    expect(pipelineFor('other', { architectures: ['BertForSequenceClassification'] })).toBe(
      'text-classification',
    );
    expect(pipelineFor('other', { architectures: ['BertModel'] })).toBe('feature-extraction');
  });

  it('refuses what it cannot serve', () => {
    const err = refusal(() => pipelineFor('regression', { architectures: ['BertForTokenClassification'] }));
    expect(err.code).toBe('unsupported_task');
    expect(err.status).toBe(422);
    expect(refusal(() => pipelineFor('regression', {})).code).toBe('unsupported_task');
  });
});
