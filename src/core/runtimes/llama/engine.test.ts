import type { Llama } from 'node-llama-cpp';
import { describe, expect, it } from 'vitest';
import { defaultThreads } from './engine.js';

describe('default threads', () => {
  it('leaves one physical core free, and never goes below one thread', () => {
    const cores = (n: number) => ({ cpuMathCores: n }) as Llama;
    expect(defaultThreads(cores(8))).toBe(7);
    expect(defaultThreads(cores(2))).toBe(1);
    expect(defaultThreads(cores(1))).toBe(1);
  });
});
