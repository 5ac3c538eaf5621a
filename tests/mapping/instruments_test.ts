/**
 * Options, bonds, futures: what each becomes in Wealthfolio, from the attribute text IBKR writes
 * (rows modelled on opensteuerauszug options_future_2025.xml, PP File02 and jal ibkr.xml).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { Decimal } from "decimal.js";
import { type Attributes, element, mapSections, mapTrades, trade } from "./_rows.ts";

/** A long call: 1 ASML 30JAN26 1170 C at 22.68 per share, multiplier 100. */
function option(over: Attributes = {}): string {
  return trade({
    assetCategory: "OPT",
    subCategory: "C",
    symbol: "ASML  260130C01170000",
    description: "ASML 30JAN26 1170 C",
    conid: "837940336",
    isin: "",
    listingExchange: "CBOE",
    multiplier: "100",
    putCall: "C",
    strike: "1170",
    expiry: "20260130",
    underlyingSymbol: "ASML",
    tradeID: "7002001",
    transactionID: "31000101",
    quantity: "1",
    tradePrice: "22.68",
    tradeMoney: "2268",
    proceeds: "-2268",
    ibCommission: "-0.2141",
    netCash: "-2268.2141",
    ...over,
  });
}

/** The buy of 2000 face of X 6 1/4 03/15/26 at 63.709 (percent of par), as in jal ibkr.xml. */
function bond(over: Attributes = {}): string {
  return trade({
    assetCategory: "BOND",
    subCategory: "Corp",
    symbol: "X 6 1/4 03/15/26",
    description: "X 6 1/4 03/15/26",
    conid: "310454529",
    isin: "US912909AN84",
    cusip: "912909AN8",
    listingExchange: "",
    exchange: "IBKRATS",
    multiplier: "1",
    tradeID: "2882737839",
    transactionID: "12827858280",
    quantity: "2000",
    tradePrice: "63.709",
    tradeMoney: "1274.18",
    proceeds: "-1274.18",
    ibCommission: "-2",
    netCash: "-1276.18",
    accruedInt: "-25.69",
    ...over,
  });
}

/** What Wealthfolio debits or credits for a BUY/SELL we send: quantity × unitPrice. */
function tradeValue(a: { quantity: string | null; unitPrice: string | null }): string {
  return new Decimal(a.quantity!).times(a.unitPrice!).toFixed();
}

// ---- options -----------------------------------------------------------------------------------

Deno.test("an option is bought in contracts under its compact OCC symbol, priced per contract so Wealthfolio's cash is IBKR's tradeMoney", () => {
  const mapped = mapTrades(option());
  assert.deepEqual(mapped.skipped, []);
  const [buy] = mapped.activities;
  assert.equal(buy.activityType, "BUY");
  assert.equal(buy.symbol, "ASML260130C01170000");
  assert.equal(buy.instrumentType, "OPTION");
  assert.equal(buy.exchangeMic, "XCBO");
  assert.equal(buy.quantity, "1");
  assert.equal(buy.unitPrice, "2268");
  assert.equal(buy.amount, "2268");
  assert.equal(buy.fee, "0.2141");
  assert.equal(tradeValue(buy), "2268");
  assert.deepEqual(buy.metadata, { ibkr: { tradePrice: "22.68", multiplier: "100" } });
});

Deno.test("writing options is a SELL of the contracts at the premium per contract", () => {
  // minimal_short_options_repro_2025.xml: SELL 5 XXXX 20FEB26 200 C at 3.50, proceeds 1750.
  const mapped = mapTrades(option({
    symbol: "XXXX  260220C00200000",
    quantity: "-5",
    tradePrice: "3.50",
    tradeMoney: "-1750",
    proceeds: "1750",
    ibCommission: "-3.50",
    buySell: "SELL",
  }));
  const [sell] = mapped.activities;
  assert.equal(sell.activityType, "SELL");
  assert.equal(sell.quantity, "5");
  assert.equal(sell.unitPrice, "350");
  assert.equal(tradeValue(sell), "1750");
  assert.equal(sell.fee, "3.5");
});

Deno.test("any option trade IBKR values at quantity × price × multiplier reaches Wealthfolio at that value, in contracts", () => {
  fc.assert(fc.property(
    fc.integer({ min: -500, max: 500 }).filter((q) => q !== 0),
    fc.integer({ min: 0, max: 10_000_000 }),
    fc.constantFrom("100", "10", "1000", "50"),
    (contracts, cents, multiplier) => {
      const price = new Decimal(cents).dividedBy(10_000);
      const value = new Decimal(contracts).times(price).times(multiplier);
      const [activity] = mapTrades(option({
        quantity: String(contracts),
        tradePrice: price.toFixed(),
        multiplier,
        tradeMoney: value.toFixed(),
        proceeds: value.negated().toFixed(),
      })).activities;
      assert.equal(activity.quantity, String(Math.abs(contracts)));
      assert.equal(tradeValue(activity), value.abs().toFixed());
    },
  ));
});

Deno.test("an assigned short put closes at price 0 and the stock leg is bought at the strike, both noted as the assignment", () => {
  // PP File02: ORCL 15SEP17 50 P assigned: two BookTrades with notes A.
  const mapped = mapTrades(
    option({
      symbol: "ORCL  170915P00050000",
      transactionID: "31000201",
      tradeID: "1908991474",
      transactionType: "BookTrade",
      quantity: "1",
      tradePrice: "0",
      tradeMoney: "0",
      proceeds: "-0",
      ibCommission: "0",
      notes: "A",
    }),
    trade({
      symbol: "ORCL",
      conid: "272800",
      listingExchange: "NYSE",
      transactionID: "31000202",
      tradeID: "1908991475",
      transactionType: "BookTrade",
      quantity: "100",
      tradePrice: "50",
      tradeMoney: "5000",
      proceeds: "-5000",
      ibCommission: "-2",
      notes: "A",
    }),
  );
  assert.deepEqual(
    mapped.activities.map((a) => [a.activityType, a.symbol, a.quantity, a.unitPrice, a.notes]),
    [
      ["BUY", "ORCL170915P00050000", "1", "0", "IBKR tradeID 1908991474 (assignment)"],
      ["BUY", "ORCL", "100", "50", "IBKR tradeID 1908991475 (assignment)"],
    ],
  );
});

Deno.test("an expired long option is sold at 0: the contracts close and no cash moves", () => {
  const [sell] = mapTrades(option({
    transactionType: "BookTrade",
    quantity: "-3",
    tradePrice: "0",
    tradeMoney: "0",
    proceeds: "0",
    ibCommission: "0",
    notes: "Ep",
  })).activities;
  assert.deepEqual(
    [sell.activityType, sell.quantity, tradeValue(sell), sell.fee, sell.notes],
    ["SELL", "3", "0", "0", "IBKR tradeID 7002001 (expiry)"],
  );
});

Deno.test("an exercise BookTrade without notes (options_future_2025.xml) still closes the contracts", () => {
  const [sell] = mapTrades(option({
    transactionType: "BookTrade",
    quantity: "-1",
    tradePrice: "0",
    tradeMoney: "0",
    proceeds: undefined,
    notes: undefined,
  })).activities;
  assert.deepEqual([sell.activityType, sell.quantity, sell.unitPrice], ["SELL", "1", "0"]);
});

Deno.test("OptionEAE rows repeat the BookTrades and are never booked a second time", () => {
  const eae = element("OptionEAE", {
    accountId: "U1234567",
    currency: "USD",
    assetCategory: "OPT",
    symbol: "ASML  260130C01170000",
    conid: "837940336",
    multiplier: "100",
    date: "20260130",
    transactionType: "Expiration",
    quantity: "-1",
    tradePrice: "0",
    proceeds: "0",
    tradeID: "7002001",
  });
  const mapped = mapSections(
    `<Trades>${
      option({ transactionType: "BookTrade", quantity: "-1", tradePrice: "0", tradeMoney: "0" })
    }</Trades><OptionEAE>${eae}</OptionEAE>`,
  );
  assert.equal(mapped.activities.length, 1);
  assert.equal(mapped.outcomes.length, 1);
  assert.deepEqual(mapped.document.ignored, { "duplicate-of-trades:OptionEAE": 1 });
});

Deno.test("an option without a multiplier, or whose tradeMoney disagrees with price × multiplier, is not booked", () => {
  const reason = (over: Attributes) => {
    const mapped = mapTrades(option(over));
    assert.equal(mapped.activities.length, 0);
    return mapped.skipped[0].reason;
  };
  assert.equal(reason({ multiplier: undefined }), "missing-field:multiplier");
  assert.equal(reason({ multiplier: "0" }), "unexpected-multiplier");
  // A per-share tradeMoney would mean the price basis is not the one we book on.
  assert.equal(reason({ tradeMoney: "22.68", proceeds: "-22.68" }), "trade-value-mismatch:OPT");
  // Without tradeMoney the proceeds confirm the basis.
  assert.equal(mapTrades(option({ tradeMoney: undefined })).activities[0].unitPrice, "2268");
  assert.equal(reason({ tradeMoney: undefined, proceeds: "-22.68" }), "trade-value-mismatch:OPT");
});

Deno.test("an option symbol that is not in OCC form is not booked as an option", () => {
  const mapped = mapTrades(option({ symbol: "ASML 30JAN26 1170 C" }));
  assert.equal(mapped.skipped[0].reason, "non-occ-option-symbol");
});

// ---- bonds -------------------------------------------------------------------------------------

Deno.test("a bond is booked under its ISIN in face value at price ÷ 100, so Wealthfolio's cash is IBKR's tradeMoney", () => {
  const mapped = mapTrades(bond());
  const [buy] = mapped.activities;
  assert.deepEqual(
    [buy.activityType, buy.symbol, buy.instrumentType, buy.exchangeMic, buy.quantity],
    ["BUY", "US912909AN84", "BOND", null, "2000"],
  );
  assert.equal(buy.unitPrice, "0.63709");
  assert.equal(tradeValue(buy), "1274.18");
  assert.equal(buy.amount, "1274.18");
  assert.equal(buy.fee, "2");
  assert.deepEqual(buy.metadata, { ibkr: { tradePrice: "63.709", priceBasis: "percent-of-par" } });
});

Deno.test("a bond without an ISIN falls back to its CUSIP; without either it is not booked", () => {
  assert.equal(mapTrades(bond({ isin: "" })).activities[0].symbol, "912909AN8");
  assert.equal(
    mapTrades(bond({ isin: undefined, cusip: undefined })).skipped[0].reason,
    "missing-field:isin",
  );
});

Deno.test("a bond whose tradeMoney is not in percent of par is not booked on a guessed basis", () => {
  // Priced per bond rather than per 100: tradeMoney = quantity × price.
  const mapped = mapTrades(bond({ quantity: "2", tradePrice: "637.09", tradeMoney: "1274.18" }));
  assert.equal(mapped.skipped[0].reason, "trade-value-mismatch:BOND");
});

Deno.test("a T-bill is priced in percent of par like a bond", () => {
  const [buy] = mapTrades(bond({
    assetCategory: "BILL",
    isin: "US912797KJ59",
    quantity: "10000",
    tradePrice: "98.765",
    tradeMoney: "9876.5",
    proceeds: "-9876.5",
  })).activities;
  assert.deepEqual([buy.instrumentType, buy.quantity, tradeValue(buy)], [
    "BOND",
    "10000",
    "9876.5",
  ]);
});

// ---- what Wealthfolio cannot hold ----------------------------------------------------------------

Deno.test("futures, options on futures and CFDs are skipped as unsupported instruments, never booked at their notional", () => {
  // options_future_2025.xml: SELL 1 6SZ5 (CHF 15DEC25) at 1.265, tradeMoney -158125.
  const future = trade({
    assetCategory: "FUT",
    symbol: "6SZ5",
    multiplier: "125000",
    quantity: "-1",
    tradePrice: "1.265",
    tradeMoney: "-158125",
    proceeds: "158125",
    transactionType: "BookTrade",
  });
  assert.equal(mapTrades(future).skipped[0].reason, "unsupported-instrument:FUT");
  for (const category of ["FOP", "CFD", "FXCFD"]) {
    const mapped = mapTrades(trade({ assetCategory: category }));
    assert.deepEqual(mapped.activities, []);
    assert.equal(mapped.skipped[0].reason, `unsupported-instrument:${category}`);
  }
});
