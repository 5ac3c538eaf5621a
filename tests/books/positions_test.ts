/** verify-books' position replay (books/verify.ts): changes applied the way Wealthfolio does. */
import assert from "node:assert/strict";
import { Decimal } from "decimal.js";
import { positionChanges } from "../../src/books/verify.ts";

const d = (v: string) => new Decimal(v);

Deno.test("a SPLIT multiplies what is held at its date, so the order of a sale and a split matters", () => {
  const start = new Map([["100001", d("100")]]);
  const sellThenSplit = positionChanges(start, [
    { instrument: "100001", date: "2025-03-01T15:00:00Z", delta: d("-10") },
    { instrument: "100001", date: "2025-05-20T23:59:59Z", ratio: d("2") },
  ]);
  const splitThenSell = positionChanges(start, [
    { instrument: "100001", date: "2025-06-01T15:00:00Z", delta: d("-10") },
    { instrument: "100001", date: "2025-05-20T23:59:59Z", ratio: d("2") },
  ]);
  assert.equal(sellThenSplit.get("100001")?.toFixed(), "80");
  assert.equal(splitThenSell.get("100001")?.toFixed(), "90");
});

Deno.test("instruments only in the events start from zero; a split of nothing stays nothing", () => {
  const changes = positionChanges(new Map(), [
    { instrument: "A", date: "2025-01-01T00:00:00Z", ratio: d("3") },
    { instrument: "B", date: "2025-01-02T00:00:00Z", delta: d("15") },
  ]);
  assert.deepEqual([...changes].map(([k, v]) => [k, v.toFixed()]), [["A", "0"], ["B", "15"]]);
});
