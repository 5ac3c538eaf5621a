import assert from "node:assert/strict";
import { Decimal } from "decimal.js";
import {
  type BrokerPosition,
  compareCash,
  comparePositions,
  uncomparedHoldings,
} from "../../src/reconcile/compare.ts";
import { listingLabel, listingOf } from "../../src/reconcile/listing.ts";
import type { Holding } from "../../src/wealthfolio/holdings.ts";

function position(
  symbol: string | null,
  mic: string | null,
  quantity: string,
  over: Partial<BrokerPosition> = {},
): BrokerPosition {
  return {
    conid: over.conid ?? `c-${symbol}`,
    isin: null,
    ibkrSymbol: symbol ?? "?",
    symbol,
    exchangeMic: mic,
    symbolProblem: null,
    aliases: [],
    wealthfolioAssetIds: [],
    quantity: new Decimal(quantity),
    ...over,
  };
}

function security(
  symbol: string,
  mic: string | null,
  quantity: string,
  id = `asset-${symbol}`,
): Holding {
  return {
    id: `SEC-acct-${id}`,
    holdingType: "security",
    instrumentId: id,
    symbol,
    exchangeMic: mic,
    currency: null,
    quantity: new Decimal(quantity),
  };
}

function cash(currency: string, quantity: string): Holding {
  return {
    id: `CASH-acct-${currency}`,
    holdingType: "cash",
    instrumentId: `cash:${currency}`,
    symbol: currency,
    exchangeMic: null,
    currency,
    quantity: new Decimal(quantity),
  };
}

const BOOK = [
  position("AAPL", "XNAS", "7"),
  position("VUAG.L", "XLON", "25"),
  position("BRK-B", "XNYS", "4"),
];

Deno.test("positions that agree on both sides give ok lines with zero drift, Yahoo symbol against Wealthfolio's split MIC", () => {
  const lines = comparePositions(BOOK, [
    security("AAPL", "XNAS", "7"),
    security("VUAG", "XLON", "25"),
    security("BRK-B", "XNYS", "4"),
  ]);
  assert.deepEqual(
    lines.map((l) => [l.symbol, l.outcome, l.drift.toFixed(), l.matchedBy]),
    [
      ["AAPL", "ok", "0", "listing"],
      ["BRK-B", "ok", "0", "listing"],
      ["VUAG.L", "ok", "0", "listing"],
    ],
  );
});

Deno.test("a position Wealthfolio lacks is drift of the whole broker quantity (missing position)", () => {
  const lines = comparePositions(BOOK, [
    security("AAPL", "XNAS", "7"),
    security("VUAG", "XLON", "25"),
  ]);
  const brk = lines.find((l) => l.symbol === "BRK-B")!;
  assert.equal(brk.outcome, "missing-in-wealthfolio");
  assert.equal(brk.ibkr!.toFixed(), "4");
  assert.equal(brk.wealthfolio, null);
  assert.equal(brk.drift.toFixed(), "4");
  assert.equal(lines.filter((l) => l.outcome !== "ok").length, 1);
});

Deno.test("a holding only Wealthfolio has is negative drift, labelled in our Yahoo form (extra position)", () => {
  const lines = comparePositions(BOOK, [
    security("AAPL", "XNAS", "7"),
    security("VUAG", "XLON", "25"),
    security("BRK-B", "XNYS", "4"),
    security("VWRP", "XLON", "12.5", "uuid-vwrp"),
  ]);
  const extra = lines.find((l) => l.outcome !== "ok")!;
  assert.equal(extra.symbol, "VWRP.L");
  assert.equal(extra.item, "wf:uuid-vwrp");
  assert.equal(extra.outcome, "only-in-wealthfolio");
  assert.equal(extra.ibkr, null);
  assert.equal(extra.drift.toFixed(), "-12.5");
});

Deno.test("a quantity that differs gives the exact IBKR − Wealthfolio drift", () => {
  const lines = comparePositions(BOOK, [
    security("AAPL", "XNAS", "10"),
    security("VUAG", "XLON", "24.8766"),
    security("BRK-B", "XNYS", "4"),
  ]);
  const drift = Object.fromEntries(lines.map((l) => [l.symbol, [l.outcome, l.drift.toFixed()]]));
  assert.deepEqual(drift, {
    AAPL: ["differs", "-3"],
    "VUAG.L": ["differs", "0.1234"],
    "BRK-B": ["ok", "0"],
  });
});

Deno.test("float noise in Wealthfolio's quantities is within tolerance; a ten-thousandth of a share is not", () => {
  const lines = comparePositions(
    [position("AAPL", "XNAS", "7"), position("VUAG.L", "XLON", "0.3")],
    [security("AAPL", "XNAS", "6.999999999999999"), security("VUAG", "XLON", "0.3001")],
  );
  const [aapl, vuag] = lines;
  assert.equal(aapl.outcome, "ok");
  // The exact difference is still recorded, only not counted as drift.
  assert.equal(aapl.drift.toFixed(), "0.000000000000001");
  assert.equal(vuag.outcome, "differs");
  assert.equal(vuag.drift.toFixed(), "-0.0001");
});

Deno.test("a US equity matches a Wealthfolio asset booked without a MIC, but never two candidates", () => {
  const one = comparePositions([position("AAPL", "XNAS", "7")], [security("AAPL", null, "7")]);
  assert.deepEqual(one.map((l) => [l.outcome, l.matchedBy]), [["ok", "ticker"]]);

  const two = comparePositions([position("AAPL", null, "7")], [
    security("AAPL", "XNAS", "7", "a1"),
    security("AAPL", "XNYS", "7", "a2"),
  ]);
  assert.deepEqual(two.map((l) => l.outcome).sort(), [
    "missing-in-wealthfolio",
    "only-in-wealthfolio",
    "only-in-wealthfolio",
  ]);
});

Deno.test("a renamed instrument matches through the listing our journal booked its conid under", () => {
  const renamed = position("NEWCO", "XNYS", "10", {
    conid: "555",
    aliases: [listingOf("OLDCO", "XNYS")],
  });
  const lines = comparePositions([renamed], [security("OLDCO", "XNYS", "10")]);
  assert.deepEqual(lines.map((l) => [l.symbol, l.outcome, l.matchedBy]), [[
    "NEWCO",
    "ok",
    "alias",
  ]]);
});

Deno.test("our asset records' Wealthfolio id wins over a listing match", () => {
  const p = position("VUAG.L", "XLON", "25", { wealthfolioAssetIds: ["uuid-2"] });
  const lines = comparePositions([p], [
    security("VUAG", "XLON", "20", "uuid-1"),
    security("VUAG", "XLON", "25", "uuid-2"),
  ]);
  const matched = lines.find((l) => l.ibkr !== null)!;
  assert.equal(matched.matchedBy, "asset-id");
  assert.deepEqual(matched.wealthfolioInstrumentIds, ["uuid-2"]);
  assert.equal(matched.outcome, "ok");
  assert.equal(lines.find((l) => l.ibkr === null)!.drift.toFixed(), "-20");
});

Deno.test("a broker position without a derivable symbol is drift that says why", () => {
  const p = position(null, null, "3", { ibkrSymbol: "XYZ", symbolProblem: "unknown-venue:FOO" });
  const [line] = comparePositions([p], []);
  assert.equal(line.symbol, "XYZ");
  assert.equal(line.outcome, "missing-in-wealthfolio");
  assert.equal(line.note, "unknown-venue:FOO");
});

Deno.test("cash off in one currency is drift there only (IBKR − Wealthfolio, exact)", () => {
  const lines = compareCash(
    [
      { currency: "GBP", endingCash: new Decimal("695.2575") },
      { currency: "USD", endingCash: new Decimal("-1271.9017") },
    ],
    [cash("GBP", "694.7575"), cash("USD", "-1271.9017")],
  );
  assert.deepEqual(lines.map((l) => [l.currency, l.outcome, l.drift.toFixed()]), [
    ["GBP", "differs", "0.5"],
    ["USD", "ok", "0"],
  ]);
});

Deno.test("cash a side does not have counts as zero: a zero CashReport row agrees with no cash, Wealthfolio-only cash drifts", () => {
  const lines = compareCash(
    [{ currency: "EUR", endingCash: new Decimal("0") }, {
      currency: "CHF",
      endingCash: new Decimal("10"),
    }],
    [cash("USD", "3.2")],
  );
  assert.deepEqual(lines.map((l) => [l.currency, l.outcome, l.drift.toFixed()]), [
    ["CHF", "missing-in-wealthfolio", "10"],
    ["EUR", "ok", "0"],
    ["USD", "only-in-wealthfolio", "-3.2"],
  ]);
});

Deno.test("cash within a cent agrees", () => {
  const [line] = compareCash([{ currency: "GBP", endingCash: new Decimal("100.004") }], [
    cash("GBP", "99.995"),
  ]);
  assert.equal(line.outcome, "ok");
});

Deno.test("holdings of other kinds are counted, not compared", () => {
  const other: Holding = { ...cash("GBP", "1"), holdingType: "alternativeAsset" };
  assert.deepEqual(uncomparedHoldings([other, cash("GBP", "1"), security("A", null, "1")]), {
    alternativeAsset: 1,
  });
  assert.deepEqual(compareCash([], [other]), []);
  assert.deepEqual(comparePositions([], [other]), []);
});

Deno.test("listings: suffix split only when it agrees with the MIC; labels in Yahoo form", () => {
  assert.deepEqual(listingOf("vuag.l", null), { ticker: "VUAG", mic: "XLON" });
  assert.deepEqual(listingOf("BPF-UN.TO", "XTSE"), { ticker: "BPF-UN", mic: "XTSE" });
  // A dot that is not the MIC's suffix is part of the ticker.
  assert.deepEqual(listingOf("ABC.L", "XNYS"), { ticker: "ABC.L", mic: "XNYS" });
  assert.equal(listingLabel({ ticker: "SAP", mic: "XETR" }), "SAP.DE");
  assert.equal(listingLabel({ ticker: "AAPL", mic: "XNAS" }), "AAPL");
  assert.equal(listingLabel({ ticker: "X", mic: "ZZZZ" }), "X@ZZZZ");
});
