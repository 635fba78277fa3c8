import { describe, expect, it } from 'vitest';
import { RuntimeError } from '../types.js';
import { Pool } from './pool.js';

const never = () => new AbortController().signal;

describe('sequence pool', () => {
  it('hands out each item once and queues later requests in order', async () => {
    const pool = new Pool(['a', 'b']);
    const first = await pool.acquire(never());
    const second = await pool.acquire(never());
    expect(new Set([first, second])).toEqual(new Set(['a', 'b']));
    const order: string[] = [];
    const third = pool.acquire(never()).then((x) => order.push(`third:${x}`));
    const fourth = pool.acquire(never()).then((x) => order.push(`fourth:${x}`));
    await Promise.resolve();
    expect(order).toEqual([]);
    pool.release(first);
    pool.release(second);
    await Promise.all([third, fourth]);
    expect(order).toEqual([`third:${first}`, `fourth:${second}`]);
    expect(pool.available).toBe(0);
  });

  it('drops a waiter whose request is aborted, and refuses an aborted request at once', async () => {
    const pool = new Pool([1]);
    const held = await pool.acquire(never());
    const controller = new AbortController();
    const waiting = pool.acquire(controller.signal);
    controller.abort(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
    await expect(pool.acquire(AbortSignal.abort(new Error('late')))).rejects.toThrow('late');
    pool.release(held);
    expect(pool.available).toBe(1); // not handed to the aborted waiter
  });

  it('close refuses waiters and later requests as model_unloaded', async () => {
    const pool = new Pool([1]);
    await pool.acquire(never());
    const waiting = pool.acquire(never());
    pool.close();
    await expect(waiting).rejects.toMatchObject({ code: 'model_unloaded', status: 503 });
    await expect(pool.acquire(never())).rejects.toBeInstanceOf(RuntimeError);
    pool.release(1);
    expect(pool.available).toBe(0);
  });
});
