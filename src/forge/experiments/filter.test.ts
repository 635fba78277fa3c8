import { describe, expect, it } from 'vitest';
import { AppError } from '../../platform/errors.js';
import { parseFilter, parseOrderBy, parseTag } from './filter.js';

const refused = (fn: () => unknown, code: string) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(400);
    expect((err as AppError).code).toBe(code);
    return (err as AppError).message;
  }
  throw new Error('expected a refusal');
};

describe('run filters', () => {
  it('reads metric, param and tag clauses joined with and', () => {
    expect(
      parseFilter("metrics.accuracy>0.9 and params.steps.1.config.C = 0.5 AND tags.team = 'fraud and risk'"),
    ).toEqual([
      { field: 'metrics', key: 'accuracy', op: '>', value: 0.9 },
      { field: 'params', key: 'steps.1.config.C', op: '=', value: 0.5 },
      { field: 'tags', key: 'team', op: '=', value: 'fraud and risk' },
    ]);
  });

  it('reads every operator and value type', () => {
    expect(parseFilter('metrics.rmse <= 1e-3')).toEqual([
      { field: 'metrics', key: 'rmse', op: '<=', value: 0.001 },
    ]);
    expect(parseFilter('metrics.r2>=-0.5')[0]).toMatchObject({ op: '>=', value: -0.5 });
    expect(parseFilter('params.task != classification')[0]).toMatchObject({
      op: '!=',
      value: 'classification',
    });
    expect(parseFilter('params.steps.0.config.fit_intercept = true')[0]).toMatchObject({ value: true });
    expect(parseFilter('params.steps.0.config.class_weight = null')[0]).toMatchObject({ value: null });
    expect(parseFilter('params.steps.0.type = "logistic_regression"')[0]).toMatchObject({
      value: 'logistic_regression',
    });
    expect(parseFilter('params.dataset_version < 3')[0]).toMatchObject({ op: '<', value: 3 });
  });

  it('refuses what it cannot read, naming the clause', () => {
    expect(refused(() => parseFilter('accuracy > 0.9'), 'invalid_filter')).toContain("'accuracy > 0.9'");
    expect(refused(() => parseFilter('metrics.accuracy > high'), 'invalid_filter')).toMatch(/numbers/);
    expect(refused(() => parseFilter('params.task > classification'), 'invalid_filter')).toMatch(
      /numbers only/,
    );
    expect(refused(() => parseFilter('tags.team > 1'), 'invalid_filter')).toMatch(/= or !=/);
    expect(refused(() => parseFilter('metrics.a > 1 and'), 'invalid_filter')).toBeTruthy();
  });
});

describe('run ordering', () => {
  it('orders by metrics, params and columns, ascending unless told', () => {
    expect(parseOrderBy('metrics.accuracy desc')).toEqual({ field: 'metrics', key: 'accuracy', desc: true });
    expect(parseOrderBy('params.steps.1.config.C')).toEqual({
      field: 'params',
      key: 'steps.1.config.C',
      desc: false,
    });
    expect(parseOrderBy('started_at ASC')).toEqual({ field: 'started_at', desc: false });
    expect(parseOrderBy(undefined)).toEqual({ field: 'created_at', desc: true });
  });

  it('refuses other orderings', () => {
    expect(refused(() => parseOrderBy('owner_id'), 'invalid_order_by')).toMatch(/not an ordering/);
    expect(refused(() => parseOrderBy('metrics.accuracy sideways'), 'invalid_order_by')).toBeTruthy();
  });
});

describe('tag filters', () => {
  it('reads key and key:value', () => {
    expect(parseTag('team')).toEqual({ key: 'team' });
    expect(parseTag('polar.trial:3')).toEqual({ key: 'polar.trial', value: '3' });
    expect(parseTag('url:http://x')).toEqual({ key: 'url', value: 'http://x' });
    refused(() => parseTag(':x'), 'invalid_filter');
  });
});
