import { describe, expect, it } from 'vitest';
import { scriptedCli } from '../../test/helpers/scripted-api.js';
import { duration, ProgressReporter, renderProgress } from './progress.js';

describe('renderProgress', () => {
  it('shows label, bar, percent, bytes, speed and ETA on one line', () => {
    const line = renderProgress({
      label: 'org/repo',
      done: 512 * 1024,
      total: 1024 * 1024,
      speedBps: 2048,
      etaSeconds: 256,
    });
    expect(line).toBe('org/repo [############------------]   50%  512.0 KB/1.0 MB  2.0 KB/s  ETA 4m16s');
  });

  it('never reaches the last column, however narrow the terminal or long the label', () => {
    for (const columns of [20, 40, 60, 80, 200]) {
      const line = renderProgress(
        { label: 'x'.repeat(100), done: 5, total: 10, speedBps: 1, etaSeconds: 5 },
        columns,
      );
      expect(line.length, String(columns)).toBeLessThan(columns);
    }
  });

  it('knows when the total is unknown and drops the ETA at 100%', () => {
    expect(renderProgress({ label: 'a', done: 10, total: null })).toMatch(/\?%\s+10 B\s+ETA --$/);
    expect(renderProgress({ label: 'a', done: 10, total: 10 })).toMatch(/\[#{24}\]\s+100%\s+10 B\/10 B$/);
    // More than the total (a file that grew) is shown as full, not as an overflowing bar.
    expect(renderProgress({ label: 'a', done: 20, total: 10 })).toMatch(/\[#{24}\]\s+100%/);
  });

  it.each([
    [0, '0s'],
    [59.4, '59s'],
    [61, '1m01s'],
    [3725, '1h02m'],
    [null, '--'],
    [-1, '--'],
    [Number.POSITIVE_INFINITY, '--'],
  ])('duration(%s) = %s', (s, text) => {
    expect(duration(s)).toBe(text);
  });
});

describe('ProgressReporter', () => {
  const state = { label: 'a', done: 1, total: 2 };

  it('redraws one line in place on a terminal, at most every 100 ms unless forced', () => {
    let now = 0;
    const api = scriptedCli(() => ({}), { tty: true });
    const p = new ProgressReporter(api.ctx, { now: () => now });
    p.update(state);
    now = 50;
    p.update(state);
    p.update(state, true);
    now = 200;
    p.update(state);
    p.finish();
    expect(api.stderr).toHaveLength(4);
    expect(api.stderr[0]!.startsWith('\ra ')).toBe(true);
    expect(api.stderr[0]!.endsWith('\u001b[K')).toBe(true);
    expect(api.stderr.at(-1)).toBe('\n');
    expect(api.err).toEqual([]);
  });

  it('prints plain lines every 5 s when standard error is not a terminal, and nothing when quiet', () => {
    let now = 0;
    const api = scriptedCli(() => ({}));
    const p = new ProgressReporter(api.ctx, { now: () => now });
    p.update(state);
    now = 1000;
    p.update(state);
    now = 6000;
    p.update(state);
    p.finish();
    expect(api.err).toHaveLength(2);
    expect(api.stderr).toEqual([]);
    const quiet = scriptedCli(() => ({}), { tty: true });
    new ProgressReporter(quiet.ctx, { quiet: true }).update(state, true);
    expect(quiet.stderr).toEqual([]);
  });
});
