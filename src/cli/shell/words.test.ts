import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createProgram } from '../program.js';
import { complete, completionTree } from './completion.js';
import { splitWords } from './words.js';

describe('splitWords', () => {
  it.each([
    ['users ls', ['users', 'ls']],
    ['  users   ls  ', ['users', 'ls']],
    ['settings set a/b name="my model"', ['settings', 'set', 'a/b', 'name=my model']],
    ['settings set a/b \'x="q" y\'', ['settings', 'set', 'a/b', 'x="q" y']],
    ['a "say \\"hi\\"" c', ['a', 'say "hi"', 'c']],
    ['a\\ b c', ['a b', 'c']],
    ['a "" b', ['a', '', 'b']],
    ['# a comment', []],
    ['users ls # list them', ['users', 'ls']],
    ['key=a#b', ['key=a#b']],
    ['', []],
  ])('%j → %j', (line, words) => {
    expect(splitWords(line)).toEqual(words);
  });

  it.each(['a "b', "a 'b", 'a \\'])('refuses %j', (line) => {
    expect(() => splitWords(line)).toThrow();
  });

  it('round-trips any words quoted with single quotes', () => {
    const word = fc.string().filter((s) => !s.includes("'"));
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 5 }), (words) => {
        expect(splitWords(words.map((w) => `'${w}'`).join(' '))).toEqual(words);
      }),
    );
  });
});

describe('tab completion', () => {
  const ctx = {
    config: { url: undefined, token: undefined, configDir: '/nonexistent' },
    out: () => {},
    err: () => {},
    prompter: { interactive: false, ask: async () => '' },
    inShell: true,
  };
  const root = completionTree(createProgram(ctx));
  const names = (line: string) => complete(root, line)[0].map((m) => m.trim());

  it('completes commands and shell words at the start of a line', () => {
    expect(names('us')).toEqual(['users']);
    expect(names('')).toEqual(expect.arrayContaining(['users', 'keys', 'settings', 'help', 'exit']));
    expect(names('')).not.toContain('serve');
    expect(names('')).not.toContain('shell');
    expect(complete(root, 'us')[1]).toBe('us');
  });

  it('completes subcommands, also after help', () => {
    expect(names('users ')).toEqual(['create', 'delete', 'disable', 'enable', 'ls', 'show', 'update']);
    expect(names('keys cr')).toEqual(['create']);
    expect(names('help sett')).toEqual(['settings']);
    expect(names('help users d')).toEqual(['delete', 'disable']);
  });

  it("completes a command's own and the global options", () => {
    expect(names('keys create --ex')).toEqual(['--expires-in-days']);
    expect(names('users ls --')).toEqual(
      expect.arrayContaining(['--json', '--url', '--token', '--role', '--limit', '--help']),
    );
    expect(names('nosuch --')).toEqual([]);
  });

  it('ends each candidate with a space so the next word can follow', () => {
    expect(complete(root, 'status')[0]).toEqual(['status ']);
  });
});
