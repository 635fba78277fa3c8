import { describe, expect, it } from 'vitest';
import { Slots } from './slots.js';

const signal = () => new AbortController().signal;

describe('Slots', () => {
  it('grants at most size holders and hands freed slots over in arrival order', async () => {
    const slots = new Slots(2);
    expect(await slots.acquire(signal())).toBe(true);
    expect(await slots.acquire(signal())).toBe(true);
    const order: number[] = [];
    const third = slots.acquire(signal()).then((ok) => order.push(3) && ok);
    const fourth = slots.acquire(signal()).then((ok) => order.push(4) && ok);
    await Promise.resolve();
    expect(order).toEqual([]);
    slots.release();
    expect(await third).toBe(true);
    expect(order).toEqual([3]);
    slots.release();
    expect(await fourth).toBe(true);
    expect(order).toEqual([3, 4]);
  });

  it('lets an aborted waiter leave the queue without taking a slot', async () => {
    const slots = new Slots(1);
    await slots.acquire(signal());
    const controller = new AbortController();
    const waiting = slots.acquire(controller.signal);
    const next = slots.acquire(signal());
    controller.abort();
    expect(await waiting).toBe(false);
    slots.release();
    expect(await next).toBe(true);
    const aborted = new AbortController();
    aborted.abort();
    expect(await slots.acquire(aborted.signal)).toBe(false);
  });
});
