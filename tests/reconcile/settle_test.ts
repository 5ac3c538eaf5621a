import assert from "node:assert/strict";
import { Decimal } from "decimal.js";
import {
  HoldingsUnsettledError,
  readSettledHoldings,
  type SettleOptions,
} from "../../src/reconcile/settle.ts";
import type { Holding, HoldingsSource } from "../../src/wealthfolio/holdings.ts";

function holding(id: string, quantity: string): Holding {
  return {
    id,
    holdingType: "security",
    instrumentId: id,
    symbol: id,
    exchangeMic: null,
    currency: null,
    quantity: new Decimal(quantity),
  };
}

/** A source answering a script of reads (the last repeats), counting calls per account. */
function scripted(reads: Holding[][]): HoldingsSource & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    holdings(accountId) {
      calls.push(accountId);
      return Promise.resolve(reads[Math.min(calls.length - 1, reads.length - 1)]);
    },
  };
}

/** A clock that only moves when slept on, and the sleeps it was asked for. */
function fakeTime(intervalMs: number, deadlineMs: number): SettleOptions & { slept: number[] } {
  let now = 1_000_000;
  const slept: number[] = [];
  return {
    intervalMs,
    deadlineMs,
    slept,
    clock: () => now,
    sleep: (ms) => {
      slept.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
}

Deno.test("holdings that read the same twice are settled after one interval", async () => {
  const source = scripted([[holding("A", "7")]]);
  const time = fakeTime(2000, 60_000);
  const settled = await readSettledHoldings(source, "wf-1", time);
  assert.equal(settled.reads, 2);
  assert.deepEqual(time.slept, [2000]);
  assert.deepEqual(source.calls, ["wf-1", "wf-1"]);
  assert.equal(settled.holdings[0].quantity.toFixed(), "7");
});

Deno.test("Wealthfolio still recalculating: reads until two agree and returns the settled holdings", async () => {
  // First the snapshot before the push (empty), then a half-rebuilt one, then the final one.
  const source = scripted([[], [holding("A", "7")], [holding("A", "7"), holding("B", "4")]]);
  const time = fakeTime(2000, 60_000);
  const settled = await readSettledHoldings(source, "wf-1", time);
  assert.equal(settled.reads, 4);
  assert.deepEqual(settled.holdings.map((h) => h.id), ["A", "B"]);
});

Deno.test("the order of the list does not matter, only ids and quantities", async () => {
  const source = scripted([
    [holding("A", "7"), holding("B", "4")],
    [holding("B", "4.0"), holding("A", "7")],
  ]);
  const settled = await readSettledHoldings(source, "wf-1", fakeTime(1500, 10_000));
  assert.equal(settled.reads, 2);
});

Deno.test("holdings that never settle fail at the deadline with HoldingsUnsettledError, not later", async () => {
  let n = 0;
  const source: HoldingsSource = {
    holdings: () => Promise.resolve([holding("A", String(++n))]),
  };
  const time = fakeTime(2000, 9000);
  await assert.rejects(readSettledHoldings(source, "wf-9", time), (e: unknown) => {
    assert.ok(e instanceof HoldingsUnsettledError);
    assert.equal(e.wealthfolioAccountId, "wf-9");
    assert.equal(e.reads, 5);
    assert.equal(e.waitedMs, 8000);
    assert.match(e.message, /still recalculating/);
    return true;
  });
  // Four sleeps fit in the 9 s deadline; a fifth would have ended past it.
  assert.deepEqual(time.slept, [2000, 2000, 2000, 2000]);
});
