/**
 * A clock for tests: time moves only when someone sleeps, at once. Shared by the client under
 * test and the Flex stand-in (its `clock` option), so both see calls on one timeline and a
 * ten-minute retry schedule runs in milliseconds.
 */
import type { Clock } from "../../src/flex/pacing.ts";

export class VirtualClock implements Clock {
  #now: number;
  /** Every sleep asked for, in order. */
  readonly sleeps: number[] = [];

  constructor(start = 1_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.#now += Math.max(0, ms);
    return Promise.resolve();
  }

  /** The stand-in's `clock` option. */
  readonly read = (): number => this.#now;
}

/** A "random" source for jitter that always answers the middle: waits are exactly nominal. */
export const MIDDLE = (): number => 0.5;
