import { InvalidArgumentError } from 'commander';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.js';
import {
  intOption,
  listOption,
  parseAssignments,
  parseFullSectionPath,
  parseSectionPath,
  parseValue,
} from './values.js';

describe('parseValue', () => {
  it.each([
    ['42', 42],
    ['-1.5', -1.5],
    ['true', true],
    ['false', false],
    ['null', null],
    ['[1,"a"]', [1, 'a']],
    ['{"a":1}', { a: 1 }],
    ['"8080"', '8080'],
    ['llama', 'llama'],
    ['', ''],
    ['hello world', 'hello world'],
    ['{not json', '{not json'],
  ])('%j → %j', (raw, expected) => {
    expect(parseValue(raw)).toEqual(expected);
  });

  it('returns any text that is not JSON unchanged', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        let isJson = true;
        try {
          JSON.parse(s);
        } catch {
          isJson = false;
        }
        if (!isJson) expect(parseValue(s)).toBe(s);
      }),
    );
  });
});

describe('parseAssignments', () => {
  it('builds one object with typed values', () => {
    expect(parseAssignments(['login_per_minute=20', 'name=my model', 'debug=true', 'tags=["a"]'])).toEqual({
      login_per_minute: 20,
      name: 'my model',
      debug: true,
      tags: ['a'],
    });
  });

  it('keeps = signs in values and nests dotted keys', () => {
    expect(parseAssignments(['url=http://x/?a=b', 'limits.max=3', 'limits.min=1'])).toEqual({
      url: 'http://x/?a=b',
      limits: { max: 3, min: 1 },
    });
  });

  it.each([
    [[], 'at least one'],
    [['novalue'], 'key=value'],
    [['=1'], 'key=value'],
    [['a b=1'], 'not a valid setting name'],
    [['a=1', 'a=2'], 'twice'],
    [['a=1', 'a.b=2'], 'both as a value and as a group'],
  ])('refuses %j', (pairs, message) => {
    expect(() => parseAssignments(pairs)).toThrow(UsageError);
    expect(() => parseAssignments(pairs)).toThrow(new RegExp(message, 'i'));
  });
});

describe('section paths', () => {
  it.each([
    [undefined, {}],
    ['', {}],
    ['security', { scope: 'security' }],
    ['security/auth', { scope: 'security', section: 'auth' }],
    ['/security/auth/', { scope: 'security', section: 'auth' }],
  ])('%j → %j', (raw, expected) => {
    expect(parseSectionPath(raw)).toEqual(expected);
  });

  it.each(['a/b/c', 'Security', 'sec urity', '../x', 'a/B'])('refuses %j', (raw) => {
    expect(() => parseSectionPath(raw)).toThrow(UsageError);
  });

  it('requires both parts where a section is needed', () => {
    expect(parseFullSectionPath('security/auth')).toEqual({ scope: 'security', section: 'auth' });
    expect(() => parseFullSectionPath('security')).toThrow(/scope\/section/);
  });
});

describe('option parsers', () => {
  it('accepts whole numbers in range only', () => {
    const p = intOption(1, 200);
    expect(p('1')).toBe(1);
    expect(p(' 200 ')).toBe(200);
    for (const bad of ['0', '201', '1.5', 'ten', '', '1e2'])
      expect(() => p(bad)).toThrow(InvalidArgumentError);
  });

  it('splits and accumulates lists', () => {
    expect(listOption('a, b,,c')).toEqual(['a', 'b', 'c']);
    expect(listOption('d', ['a'])).toEqual(['a', 'd']);
    expect(() => listOption(' , ')).toThrow(InvalidArgumentError);
  });
});
