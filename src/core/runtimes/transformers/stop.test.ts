import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StopFilter } from './stop.js';

/** Feeds `text` in the given piece lengths and returns everything the filter emitted. */
function run(stops: string[], text: string, cuts: number[]): { out: string; stopped: boolean } {
  const filter = new StopFilter(stops);
  let out = '';
  let at = 0;
  for (const len of cuts) {
    out += filter.push(text.slice(at, at + len));
    at += len;
  }
  out += filter.push(text.slice(at));
  out += filter.flush();
  return { out, stopped: filter.stopped };
}

describe('StopFilter', () => {
  it('emits everything when no stop string occurs', () => {
    expect(run(['END'], 'hello world', [3, 3])).toEqual({ out: 'hello world', stopped: false });
  });

  it('cuts before a stop string split across pieces', () => {
    expect(run(['END'], 'hello ENDING', [7, 1, 4])).toEqual({ out: 'hello ', stopped: true });
  });

  it('cuts at the earliest of several stop strings', () => {
    expect(run(['world', 'lo'], 'hello world', [2, 2, 2])).toEqual({ out: 'hel', stopped: true });
  });

  it('holds back a possible start of a stop string until it is resolved', () => {
    const filter = new StopFilter(['\n\nUser:']);
    expect(filter.push('answer\n')).toBe('answer');
    expect(filter.push('\nUs')).toBe('');
    expect(filter.push('ually')).toBe('\n\nUsually');
  });

  it('ignores empty stop strings', () => {
    expect(run([''], 'abc', [1])).toEqual({ out: 'abc', stopped: false });
  });

  it('for any split, the output is the text before the first stop string', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', 'b', 'c'), maxLength: 40 }),
        fc.array(fc.string({ unit: fc.constantFrom('a', 'b', 'c'), minLength: 1, maxLength: 3 }), {
          maxLength: 3,
        }),
        fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 20 }),
        (text, stops, cuts) => {
          const firsts = stops.map((s) => text.indexOf(s)).filter((i) => i >= 0);
          const cut = firsts.length > 0 ? Math.min(...firsts) : text.length;
          expect(run(stops, text, cuts)).toEqual({ out: text.slice(0, cut), stopped: firsts.length > 0 });
        },
      ),
    );
  });
});
