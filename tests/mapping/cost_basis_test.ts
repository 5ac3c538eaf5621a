/** The FIFO replay that prices what corporate actions and transfers move (mapping/cost_basis.ts). */
import assert from "node:assert/strict";
import { Decimal } from "decimal.js";
import type { Activity, ActivityType } from "../../src/domain/activity.ts";
import { heldPosition } from "../../src/mapping/cost_basis.ts";

let seq = 0;
/** One security activity of XYZ as the mapper books it; decimals from IBKR-like text. */
function act(
  activityType: ActivityType,
  fields: {
    quantity?: string;
    unitPrice?: string;
    fee?: string;
    amount?: string;
    currency?: string;
  },
): Activity {
  seq++;
  return {
    key: `ibkr:U1:${seq}`,
    account: "U1",
    activityType,
    subtype: null,
    date: `2025-01-${String(seq).padStart(2, "0")}T15:00:00Z`,
    symbol: "XYZ",
    exchangeMic: "XNAS",
    instrumentType: "EQUITY",
    name: "XYZ CORP",
    isin: null,
    conid: "100001",
    quantity: fields.quantity === undefined ? null : new Decimal(fields.quantity),
    unitPrice: fields.unitPrice === undefined ? null : new Decimal(fields.unitPrice),
    amount: fields.amount === undefined ? null : new Decimal(fields.amount),
    fee: fields.fee === undefined ? null : new Decimal(fields.fee),
    currency: fields.currency ?? "USD",
    notes: null,
    groupKey: null,
    sourceRecordId: `U1:${seq}`,
    metadata: null,
  };
}

const text = (d: Decimal | null) => d?.toFixed() ?? null;

Deno.test("lots are taken oldest first, each with its fee: after BUY 10 at 5 (fee 1), BUY 10 at 7, SELL 5, ten shares cost 25.5 + 35", () => {
  const held = heldPosition([
    act("BUY", { quantity: "10", unitPrice: "5", fee: "1" }),
    act("BUY", { quantity: "10", unitPrice: "7", fee: "0" }),
    act("SELL", { quantity: "5", unitPrice: "9", fee: "1" }),
  ])!;
  assert.equal(held.quantity.toFixed(), "15");
  assert.equal(held.complete, true);
  assert.equal(text(held.costOf(new Decimal(10))), "60.5");
  assert.equal(text(held.costOf(new Decimal(15))), "95.5");
  assert.equal(held.costOf(new Decimal(16)), null, "more than is held has no known cost");
  assert.deepEqual([held.symbol, held.exchangeMic, held.name, held.currency], [
    "XYZ",
    "XNAS",
    "XYZ CORP",
    "USD",
  ]);
});

Deno.test("a SPLIT multiplies every lot's quantity and keeps its cost", () => {
  const held = heldPosition([
    act("BUY", { quantity: "80", unitPrice: "50" }),
    act("SPLIT", { amount: "1.5" }),
    act("TRANSFER_OUT", { quantity: "5" }),
  ])!;
  assert.equal(held.quantity.toFixed(), "115");
  assert.equal(text(held.costOf(new Decimal(115))), "3833.3333333333333333");
});

Deno.test("a lot that came in without a cost makes any cost that takes from it unknown, not zero", () => {
  const held = heldPosition([
    act("BUY", { quantity: "10", unitPrice: "5" }),
    act("TRANSFER_IN", { quantity: "10" }),
    act("TRANSFER_IN", { quantity: "5", unitPrice: "0" }),
  ])!;
  assert.equal(text(held.costOf(new Decimal(10))), "50");
  assert.equal(held.costOf(new Decimal(11)), null);
});

Deno.test("a journal whose history starts too late (more sold than bought) knows no cost at all", () => {
  const held = heldPosition([
    act("SELL", { quantity: "5", unitPrice: "9" }),
    act("BUY", { quantity: "10", unitPrice: "5" }),
  ])!;
  assert.equal(held.complete, false);
  assert.equal(held.quantity.toFixed(), "5");
  assert.equal(held.costOf(new Decimal(1)), null);
});

Deno.test("nothing booked means no position; cash activities do not count", () => {
  assert.equal(heldPosition([]), null);
  const cash = { ...act("TRANSFER_IN", { amount: "5" }), symbol: null };
  assert.equal(heldPosition([cash]), null);
});
