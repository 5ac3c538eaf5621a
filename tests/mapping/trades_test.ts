import assert from "node:assert/strict";
import fc from "fast-check";
import type { ActivityPayload } from "../../src/domain/payload.ts";
import { ACCOUNT, type Mapped, mapTrades, trade } from "./_rows.ts";

/** The BUY the default `trade()` row becomes; tests override what their row changes. */
function aaplBuy(over: Partial<ActivityPayload> = {}): ActivityPayload {
  return {
    key: `ibkr:${ACCOUNT}:31000001`,
    account: ACCOUNT,
    activityType: "BUY",
    subtype: null,
    date: "2025-01-15T15:31:07Z",
    symbol: "AAPL",
    exchangeMic: "XNAS",
    instrumentType: "EQUITY",
    name: "APPLE INC",
    isin: "US0378331005",
    conid: "265598",
    quantity: "10",
    unitPrice: "228.26",
    amount: "2282.6",
    fee: "1.0005",
    currency: "USD",
    notes: "IBKR tradeID 7001001",
    groupKey: null,
    sourceRecordId: `${ACCOUNT}:31000001`,
    metadata: null,
    matchKey: "trade:7001001",
    ...over,
  };
}

function onlySkip(mapped: Mapped) {
  assert.equal(
    mapped.activities.length,
    0,
    `expected no activity, got ${JSON.stringify(mapped.activities)}`,
  );
  assert.equal(mapped.skipped.length, 1);
  return mapped.skipped[0];
}

// ---- BUY / SELL -------------------------------------------------------------------------------

Deno.test("a positive quantity is a BUY at tradePrice with fee = -(ibCommission + taxes), keyed ibkr:<account>:<transactionID>", () => {
  const mapped = mapTrades(trade());
  assert.deepEqual(mapped.activities, [aaplBuy()]);
  assert.deepEqual(mapped.skipped, []);
});

Deno.test("a negative quantity is a SELL of |quantity|, with a positive unit price and amount", () => {
  const mapped = mapTrades(trade({
    transactionID: "31000004",
    tradeID: "7001004",
    quantity: "-3",
    tradePrice: "206.86",
    tradeMoney: "-620.58",
    proceeds: "620.58",
    ibCommission: "-1.0012",
    buySell: "SELL",
    openCloseIndicator: "C",
  }));
  assert.deepEqual(mapped.activities, [
    aaplBuy({
      key: `ibkr:${ACCOUNT}:31000004`,
      sourceRecordId: `${ACCOUNT}:31000004`,
      notes: "IBKR tradeID 7001004",
      matchKey: "trade:7001004",
      activityType: "SELL",
      quantity: "3",
      unitPrice: "206.86",
      amount: "620.58",
      fee: "1.0012",
    }),
  ]);
});

Deno.test("the BUY/SELL side follows the quantity's sign, not the buySell text", () => {
  const mapped = mapTrades(trade({ quantity: "-10", buySell: "BUY" }));
  assert.equal(mapped.activities[0].activityType, "SELL");
  assert.equal(mapped.activities[0].quantity, "10");
});

Deno.test("a fractional quantity is booked exactly, with no float rounding", () => {
  const mapped = mapTrades(trade({ quantity: "17.444", tradePrice: "0.1", proceeds: "-1.7444" }));
  assert.equal(mapped.activities[0].quantity, "17.444");
  assert.equal(mapped.activities[0].unitPrice, "0.1");
  assert.equal(mapped.activities[0].amount, "1.7444");
});

Deno.test("the fee is the commission plus the trade's taxes, both in the trade currency", () => {
  const mapped = mapTrades(trade({ ibCommission: "-1", taxes: "-0.25" }));
  assert.deepEqual(mapped.activities, [aaplBuy({ fee: "1.25" })]);
});

Deno.test("a commission charged in another currency is a separate FEE <key>:commission in that currency, left out of the trade's fee", () => {
  const mapped = mapTrades(trade({
    symbol: "BRK B",
    description: "BERKSHIRE HATHAWAY INC-CL B",
    conid: "72063691",
    isin: "US0846707026",
    listingExchange: "NYSE",
    ibCommission: "-1.25",
    ibCommissionCurrency: "GBP",
    taxes: "-0.1",
  }));
  assert.deepEqual(mapped.activities, [
    aaplBuy({
      symbol: "BRK-B",
      exchangeMic: "XNYS",
      name: "BERKSHIRE HATHAWAY INC-CL B",
      conid: "72063691",
      isin: "US0846707026",
      fee: "0.1",
    }),
    {
      key: `ibkr:${ACCOUNT}:31000001:commission`,
      account: ACCOUNT,
      activityType: "FEE",
      subtype: null,
      date: "2025-01-15T15:31:07Z",
      symbol: null,
      exchangeMic: null,
      instrumentType: null,
      name: null,
      isin: "US0846707026",
      conid: "72063691",
      quantity: null,
      unitPrice: null,
      amount: "1.25",
      fee: null,
      currency: "GBP",
      notes: `IBKR commission on BRK B (ibkr:${ACCOUNT}:31000001)`,
      groupKey: null,
      sourceRecordId: `${ACCOUNT}:31000001:commission`,
      metadata: null,
      // Only the trade itself is found by a cancel's tradeID; its legs go with it by key.
      matchKey: null,
    },
  ]);
});

Deno.test("a commission rebate (positive ibCommission) is a CREDIT REBATE <key>:rebate and the trade's fee is 0", () => {
  const mapped = mapTrades(trade({ ibCommission: "0.35", taxes: "0" }));
  assert.equal(mapped.activities.length, 2);
  assert.deepEqual(mapped.activities[0], aaplBuy({ fee: "0" }));
  const credit = mapped.activities[1];
  assert.equal(credit.key, `ibkr:${ACCOUNT}:31000001:rebate`);
  assert.equal(credit.activityType, "CREDIT");
  assert.equal(credit.subtype, "REBATE");
  assert.equal(credit.amount, "0.35");
  assert.equal(credit.currency, "USD");
  assert.equal(credit.symbol, null);
  assert.equal(credit.date, "2025-01-15T15:31:07Z");
});

Deno.test("a rebate smaller than the trade's taxes only lowers the fee, with no CREDIT", () => {
  const mapped = mapTrades(trade({ ibCommission: "0.25", taxes: "-1" }));
  assert.deepEqual(mapped.activities, [aaplBuy({ fee: "0.75" })]);
});

Deno.test("a rebate in another currency is a CREDIT REBATE <key>:commission in that currency", () => {
  const mapped = mapTrades(trade({ ibCommission: "0.5", ibCommissionCurrency: "GBP" }));
  assert.equal(mapped.activities.length, 2);
  assert.equal(mapped.activities[0].fee, "0");
  const credit = mapped.activities[1];
  assert.equal(credit.key, `ibkr:${ACCOUNT}:31000001:commission`);
  assert.equal(credit.activityType, "CREDIT");
  assert.equal(credit.subtype, "REBATE");
  assert.equal(credit.amount, "0.5");
  assert.equal(credit.currency, "GBP");
});

Deno.test("a zero commission gives fee 0 and no CREDIT or FEE activity", () => {
  for (const commissionCurrency of ["USD", "GBP"]) {
    const mapped = mapTrades(
      trade({ ibCommission: "0", taxes: "0", ibCommissionCurrency: commissionCurrency }),
    );
    assert.deepEqual(mapped.activities, [aaplBuy({ fee: "0" })], commissionCurrency);
  }
});

Deno.test("a trade without ibCommission or taxes has fee 0", () => {
  const mapped = mapTrades(trade({ ibCommission: undefined, taxes: undefined }));
  assert.deepEqual(mapped.activities, [aaplBuy({ fee: "0" })]);
});

// ---- currencies -------------------------------------------------------------------------------

Deno.test("the currency comes from the row, not the exchange: an LSEETF line in USD stays USD", () => {
  const mapped = mapTrades(trade({
    symbol: "CSPX",
    description: "ISHARES CORE S&P 500",
    conid: "75776072",
    isin: "IE00B5BMR087",
    listingExchange: "LSEETF",
    exchange: "LSEETF",
    currency: "USD",
    quantity: "2",
    tradePrice: "612.34",
    proceeds: "-1224.68",
    ibCommission: "-1.7",
    ibCommissionCurrency: "USD",
    dateTime: "20250115;083000",
  }));
  assert.deepEqual(mapped.activities, [
    aaplBuy({
      symbol: "CSPX.L",
      exchangeMic: "XLON",
      name: "ISHARES CORE S&P 500",
      conid: "75776072",
      isin: "IE00B5BMR087",
      quantity: "2",
      unitPrice: "612.34",
      amount: "1224.68",
      fee: "1.7",
      currency: "USD",
      date: "2025-01-15T13:30:00Z",
    }),
  ]);
});

Deno.test("a GBX row is booked in GBP: price, amount and fee divided by 100, quantity unchanged", () => {
  const mapped = mapTrades(trade({
    symbol: "SHEL",
    description: "SHELL PLC",
    conid: "1",
    isin: "GB00BP6MXD84",
    listingExchange: "LSE",
    currency: "GBX",
    quantity: "100",
    tradePrice: "2740.5",
    proceeds: "-274050",
    ibCommission: "-300",
    ibCommissionCurrency: "GBX",
    taxes: "-1370.25",
  }));
  assert.equal(mapped.activities.length, 1);
  const buy = mapped.activities[0];
  assert.equal(buy.symbol, "SHEL.L");
  assert.equal(buy.currency, "GBP");
  assert.equal(buy.quantity, "100");
  assert.equal(buy.unitPrice, "27.405");
  assert.equal(buy.amount, "2740.5");
  assert.equal(buy.fee, "16.7025");
});

Deno.test("a GBX trade whose commission is charged in GBP folds it into the fee: both are GBP once GBX is normalised", () => {
  // contracts/ibkr-flex.md §4.4: a separate FEE only when the commission currency differs from
  // the activity's currency, and this activity is booked in GBP.
  const mapped = mapTrades(trade({
    symbol: "SHEL",
    listingExchange: "LSE",
    currency: "GBX",
    quantity: "100",
    tradePrice: "2740.5",
    proceeds: "-274050",
    ibCommission: "-3",
    ibCommissionCurrency: "GBP",
    taxes: "-1370.25",
  }));
  assert.deepEqual(
    mapped.activities.map((a) => [a.key, a.activityType, a.currency, a.fee, a.amount]),
    [[`ibkr:${ACCOUNT}:31000001`, "BUY", "GBP", "16.7025", "2740.5"]],
  );
});

Deno.test("LSE amounts in GBP are booked unchanged: 455.5 stays 455.5 GBP", () => {
  const mapped = mapTrades(trade({
    symbol: "EQQQ",
    description: "INVESCO EQQQ NASDAQ-100 ETF",
    conid: "18706552",
    isin: "IE0032077012",
    listingExchange: "LSEETF",
    currency: "GBP",
    quantity: "3",
    tradePrice: "455.5",
    proceeds: "-1366.5",
    ibCommission: "-3",
    ibCommissionCurrency: "GBP",
  }));
  const buy = mapped.activities[0];
  assert.equal(buy.symbol, "EQQQ.L");
  assert.equal(buy.exchangeMic, "XLON");
  assert.equal(buy.currency, "GBP");
  assert.equal(buy.unitPrice, "455.5");
  assert.equal(buy.amount, "1366.5");
  assert.equal(buy.fee, "3");
});

// ---- dates ------------------------------------------------------------------------------------

Deno.test("the activity date is the tradeDate at the execution instant in UTC (10:31:07 EST → 15:31:07Z)", () => {
  assert.equal(mapTrades(trade()).activities[0].date, "2025-01-15T15:31:07Z");
  const summer = mapTrades(trade({ tradeDate: "20250716", dateTime: "20250716;103107" }));
  assert.equal(summer.activities[0].date, "2025-07-16T14:31:07Z");
});

Deno.test("an evening ET execution keeps its tradeDate as the activity's UTC day", () => {
  for (
    const [tradeDate, dateTime] of [
      ["20250115", "20250115;194500"], // 00:45Z the next day in winter
      ["20250716", "20250716;203000"], // 00:30Z the next day in summer
      ["20250716", "2025-07-16 23:59:59"],
    ]
  ) {
    const date = mapTrades(trade({ tradeDate, dateTime })).activities[0].date;
    const iso = `${tradeDate.slice(0, 4)}-${tradeDate.slice(4, 6)}-${tradeDate.slice(6)}`;
    assert.equal(new Date(date).toISOString().slice(0, 10), iso, dateTime);
    assert.equal(date, `${iso}T23:59:59Z`, dateTime);
  }
});

Deno.test("a trade whose ET dateTime is on the evening before its tradeDate is dated on tradeDate", () => {
  const mapped = mapTrades(trade({ tradeDate: "20250116", dateTime: "20250115;210000" }));
  assert.equal(mapped.activities[0].date, "2025-01-16T02:00:00Z");
});

Deno.test("a trade without dateTime is dated at 00:00:00Z of its tradeDate", () => {
  const mapped = mapTrades(trade({ dateTime: undefined, tradeTime: undefined }));
  assert.equal(mapped.activities[0].date, "2025-01-15T00:00:00Z");
});

Deno.test("a trade without dateTime uses a HHmmss tradeTime for its instant", () => {
  const mapped = mapTrades(trade({ dateTime: undefined, tradeTime: "103107" }));
  assert.equal(mapped.activities[0].date, "2025-01-15T15:31:07Z");
});

// ---- rows that are not booked -----------------------------------------------------------------

Deno.test("Order, SymbolSummary, AssetSummary and Lot aggregates in Trades are never booked", () => {
  const aggregate = (tag: string, level: string) =>
    trade({ levelOfDetail: level, transactionID: "", tradeID: "", dateTime: "MULTI" })
      .replace("<Trade ", `<${tag} `);
  const mapped = mapTrades(
    aggregate("Order", "ORDER"),
    aggregate("SymbolSummary", "SYMBOL_SUMMARY"),
    aggregate("AssetSummary", "ASSET_SUMMARY"),
    aggregate("Lot", "CLOSED_LOT"),
  );
  assert.deepEqual(mapped.outcomes, []);
  assert.deepEqual(mapped.document.ignored, {
    "trade-aggregate:Order": 1,
    "trade-aggregate:SymbolSummary": 1,
    "trade-aggregate:AssetSummary": 1,
    "trade-aggregate:Lot": 1,
  });
});

Deno.test("a <Trade> at levelOfDetail ORDER, SYMBOL_SUMMARY, ASSET_SUMMARY or CLOSED_LOT is ignored, not booked", () => {
  const levels = ["ORDER", "SYMBOL_SUMMARY", "ASSET_SUMMARY", "CLOSED_LOT"];
  const mapped = mapTrades(
    ...levels.map((level, i) => trade({ levelOfDetail: level, transactionID: `9${i}` })),
  );
  assert.deepEqual(mapped.outcomes, []);
  assert.deepEqual(mapped.ignored, levels.map((level) => `trade-level:${level}`));
});

Deno.test("a <Trade> without levelOfDetail is imported as an execution", () => {
  const mapped = mapTrades(trade({ levelOfDetail: undefined }));
  assert.deepEqual(mapped.activities, [aaplBuy()]);
});

const EUR_USD_BUY = {
  assetCategory: "CASH",
  subCategory: undefined,
  symbol: "EUR.USD",
  description: "EUR.USD",
  conid: "12087792",
  isin: undefined,
  listingExchange: "",
  exchange: "IDEALFX",
  currency: "USD",
  quantity: "1000",
  tradePrice: "1.0835",
  tradeMoney: "1083.5",
  proceeds: "-1083.5",
  ibCommission: "-2",
  ibCommissionCurrency: "EUR",
  netCash: "0",
};

Deno.test("an FX conversion buying EUR with USD is TRANSFER_OUT of the USD proceeds and TRANSFER_IN of the EUR quantity, linked, never a BUY of EUR.USD", () => {
  const mapped = mapTrades(trade(EUR_USD_BUY));
  assert.deepEqual(mapped.skipped, []);
  const legs = mapped.activities.map((
    a,
  ) => [a.key, a.activityType, a.subtype, a.amount, a.currency, a.symbol, a.groupKey]);
  const key = `ibkr:${ACCOUNT}:31000001`;
  assert.deepEqual(legs, [
    [`${key}:out`, "TRANSFER_OUT", null, "1083.5", "USD", null, key],
    [`${key}:in`, "TRANSFER_IN", null, "1000", "EUR", null, key],
    [`${key}:commission`, "FEE", null, "2", "EUR", null, key],
  ]);
  assert.ok(mapped.activities.every((a) => a.date.startsWith("2025-01-15") && a.quantity === null));
});

Deno.test("an FX conversion selling the base currency moves |quantity| out and the proceeds in", () => {
  const mapped = mapTrades(
    trade({
      ...EUR_USD_BUY,
      quantity: "-500",
      proceeds: "541.75",
      tradeMoney: "-541.75",
      ibCommission: "0",
    }),
  );
  assert.deepEqual(
    mapped.activities.map((a) => [a.activityType, a.amount, a.currency]),
    [["TRANSFER_OUT", "500", "EUR"], ["TRANSFER_IN", "541.75", "USD"]],
  );
});

Deno.test("an automatic AFx conversion of dust is booked however small, and noted as AFx", () => {
  const mapped = mapTrades(
    trade({
      ...EUR_USD_BUY,
      quantity: "0.08",
      proceeds: "-0.0867",
      ibCommission: "0",
      notes: "AFx",
    }),
  );
  assert.deepEqual(mapped.activities.map((a) => [a.activityType, a.amount]), [[
    "TRANSFER_OUT",
    "0.0867",
  ], ["TRANSFER_IN", "0.08"]]);
  assert.match(mapped.activities[0].notes ?? "", /AFx/);
});

Deno.test("an FX row whose currency is not the pair's quote currency is skipped, not guessed", () => {
  const mapped = mapTrades(trade({ ...EUR_USD_BUY, currency: "GBP" }));
  assert.equal(onlySkip(mapped).reason, "unrecognised-fx-layout");
});

Deno.test("an FX conversion without proceeds is skipped as missing-field:proceeds, never priced from tradePrice", () => {
  const mapped = mapTrades(trade({ ...EUR_USD_BUY, proceeds: undefined }));
  assert.equal(onlySkip(mapped).reason, "missing-field:proceeds");
});

Deno.test("an FX cancel is not booked as a conversion", () => {
  const mapped = mapTrades(
    trade({
      ...EUR_USD_BUY,
      buySell: "SELL (Ca.)",
      quantity: "-1000",
      proceeds: "1083.5",
      notes: "Ca",
    }),
  );
  assert.deepEqual(mapped.activities, []);
});

Deno.test("cancels are skipped as cancellation:trade-cancel, never booked, and name their original: TradeCancel, BUY (Ca.), notes Ca, FracShareCancel", () => {
  const cancels = {
    "transactionType TradeCancel": { transactionType: "TradeCancel" },
    "buySell BUY (Ca.)": { buySell: "BUY (Ca.)" },
    "buySell SELL (Ca.)": { buySell: "SELL (Ca.)", quantity: "-10" },
    "notes Ca": { notes: "Ca" },
    "notes P;Ca": { notes: "P;Ca" },
    "transactionType FracShareCancel": { transactionType: "FracShareCancel", quantity: "0.4" },
  };
  for (const [name, over] of Object.entries(cancels)) {
    const mapped = mapTrades(trade({ ...over, origTransactionID: "31000000" }));
    const skipped = onlySkip(mapped);
    assert.equal(skipped.reason, "cancellation:trade-cancel", name);
    assert.equal(skipped.key, `ibkr:${ACCOUNT}:31000001`, name);
    assert.deepEqual(mapped.outcomes[0].cancels, {
      mode: "reverse",
      targetKey: `ibkr:${ACCOUNT}:31000000`,
      targetMatch: null,
      reason: "trade-cancel",
    }, name);
  }
});

Deno.test("a note that merely contains the letters Ca (e.g. CaX) is not a cancel", () => {
  const mapped = mapTrades(trade({ notes: "CaX;P" }));
  assert.equal(mapped.activities[0].activityType, "BUY");
});

Deno.test("asset categories Wealthfolio has no model for yet are skipped with the category as the reason", () => {
  for (const category of ["WAR", "IOPT", "CRYPTO", "CMDTY"]) {
    const skipped = onlySkip(mapTrades(trade({ assetCategory: category })));
    assert.equal(skipped.reason, `not-yet-mapped:asset-category:${category}`);
  }
  assert.equal(
    onlySkip(mapTrades(trade({ assetCategory: undefined }))).reason,
    "not-yet-mapped:asset-category:none",
  );
});

Deno.test("FUND trades are booked like stocks", () => {
  const mapped = mapTrades(trade({ assetCategory: "FUND" }));
  assert.deepEqual(mapped.activities, [aaplBuy()]);
});

Deno.test("a trade without tradePrice is skipped as missing-field:tradePrice, never priced from proceeds", () => {
  for (const tradePrice of [undefined, "", "-", "N/A"]) {
    const skipped = onlySkip(mapTrades(trade({ tradePrice })));
    assert.equal(skipped.reason, "missing-field:tradePrice", String(tradePrice));
  }
});

Deno.test("a trade without quantity is skipped as missing-field:quantity, a zero quantity as zero-quantity", () => {
  assert.equal(
    onlySkip(mapTrades(trade({ quantity: undefined }))).reason,
    "missing-field:quantity",
  );
  assert.equal(onlySkip(mapTrades(trade({ quantity: "0" }))).reason, "zero-quantity");
});

// ---- cancels and what they find -------------------------------------------------------------

/** The cancel of the default AAPL buy as IBKR writes it (PP File09): empty tradeID, Ca, later reportDate. */
const AAPL_CANCEL = {
  transactionID: "31000009",
  tradeID: "",
  transactionType: "TradeCancel",
  buySell: "BUY (Ca.)",
  notes: "Ca",
  exchange: "--",
  reportDate: "20250117",
  quantity: "-10",
  tradeMoney: "-2282.6",
  proceeds: "2282.6",
  ibCommission: "0",
  netCash: "2282.6",
  origTradePrice: "228.26",
  origTradeDate: "20250115",
  origTradeID: "7001001",
} as const;

Deno.test("a trade carries matchKey trade:<tradeID>, the key a cancel naming only its tradeID finds it by", () => {
  assert.equal(mapTrades(trade()).activities[0].matchKey, "trade:7001001");
  // No tradeID (or IBKR's "0") and not a FracShare: nothing to be found by but the key.
  for (const tradeID of ["", "0", undefined]) {
    assert.equal(mapTrades(trade({ tradeID })).activities[0].matchKey, null, String(tradeID));
  }
});

Deno.test("a TradeCancel naming origTransactionID targets that key; origTradeID alone gives targetMatch trade:<origTradeID>", () => {
  const byTransaction = mapTrades(trade({ ...AAPL_CANCEL, origTransactionID: "31000001" }));
  assert.deepEqual(byTransaction.outcomes[0].cancels, {
    mode: "reverse",
    targetKey: `ibkr:${ACCOUNT}:31000001`,
    targetMatch: null,
    reason: "trade-cancel",
  });
  // PP File09 has no origTransactionID attribute at all; File28 writes "0" for none.
  for (const origTransactionID of [undefined, "0", ""]) {
    const mapped = mapTrades(trade(), trade({ ...AAPL_CANCEL, origTransactionID }));
    const [original, cancel] = mapped.outcomes;
    assert.equal(cancel.kind, "skipped");
    assert.equal(cancel.kind === "skipped" && cancel.skipped.reason, "cancellation:trade-cancel");
    assert.deepEqual(cancel.cancels, {
      mode: "reverse",
      targetKey: null,
      targetMatch: "trade:7001001",
      reason: "trade-cancel",
    }, String(origTransactionID));
    assert.equal(
      original.kind === "activities" && original.activities[0].matchKey,
      cancel.cancels?.targetMatch,
      "the cancel's targetMatch is the original's matchKey",
    );
  }
});

Deno.test("a FracShareCancel naming nothing targets the fractional sale of the same conid and |quantity| (jal ibkr.xml)", () => {
  const fracShare = {
    symbol: "BABA",
    description: "ALIBABA GROUP HOLDING-SP ADR",
    conid: "166090175",
    isin: "US01609W1027",
    listingExchange: "NYSE",
    tradeID: "",
    exchange: "--",
    dateTime: "20190325;202500",
    tradeDate: "20190325",
    reportDate: "20190328",
    tradePrice: "169.15",
    ibCommission: "0",
    origTradeID: "",
    origTradePrice: "0",
    origOrderID: "0",
  };
  const mapped = mapTrades(
    trade({
      ...fracShare,
      transactionID: "101623451793",
      transactionType: "FracShare",
      quantity: "-0.777",
      tradeMoney: "-131.42955",
      proceeds: "131.42955",
      buySell: "SELL",
    }),
    trade({
      ...fracShare,
      transactionID: "101234514414",
      transactionType: "FracShareCancel",
      tradeDate: "20190330",
      reportDate: "20190330",
      quantity: "0.7770",
      tradeMoney: "131.42955",
      proceeds: "-131.42955",
      buySell: "SELL (Ca.)",
      notes: "Ca",
    }),
  );
  const [sale, cancel] = mapped.outcomes;
  assert.equal(sale.kind, "activities");
  assert.equal(sale.kind === "activities" && sale.activities[0].activityType, "SELL");
  assert.equal(
    sale.kind === "activities" && sale.activities[0].matchKey,
    "fracshare:166090175:0.777",
  );
  assert.equal(cancel.kind === "skipped" && cancel.skipped.reason, "cancellation:trade-cancel");
  assert.deepEqual(cancel.cancels, {
    mode: "reverse",
    targetKey: null,
    targetMatch: "fracshare:166090175:0.777",
    reason: "trade-cancel",
  });
});

Deno.test("a cancel that names no original (no origTransactionID, no origTradeID, not a FracShareCancel) is skipped as cancel-without-original, with no cancellation", () => {
  for (
    const over of [
      { origTradeID: "", origTransactionID: "0" },
      { origTradeID: "0", origTransactionID: undefined },
      { origTradeID: undefined, origTransactionID: undefined },
    ]
  ) {
    const mapped = mapTrades(trade({ ...AAPL_CANCEL, ...over }));
    assert.equal(onlySkip(mapped).reason, "cancel-without-original", JSON.stringify(over));
    assert.equal(mapped.outcomes[0].cancels, undefined, JSON.stringify(over));
  }
});

Deno.test("an FX cancel-and-rebook (PP File28): the cancel targets the first conversion's key, and both conversions' legs carry trade:<tradeID>", () => {
  const fx = {
    ...EUR_USD_BUY,
    symbol: "USD.TWD",
    description: "USD.TWD",
    conid: "37928794",
    currency: "TWD",
    ibCommission: "0",
    ibCommissionCurrency: "USD",
    tradeDate: "20250911",
    dateTime: "20250911;170000",
    reportDate: "20250911",
    tradeID: "1144440025",
    origTransactionID: "0",
  };
  const mapped = mapTrades(
    trade({
      ...fx,
      transactionID: "4606872535",
      quantity: "-1143.28313142",
      tradePrice: "30.3074532",
      tradeMoney: "-34650.000000013",
      proceeds: "34650.000000013",
      buySell: "SELL",
    }),
    trade({
      ...fx,
      transactionID: "4610738883",
      tradeID: "",
      transactionType: "TradeCancel",
      exchange: "--",
      reportDate: "20250912",
      quantity: "1143.28313142",
      tradePrice: "30.3074532",
      tradeMoney: "34650.000000013",
      proceeds: "-34650.000000013",
      buySell: "SELL (Ca.)",
      notes: "Ca",
      origTradeID: "1144440025",
      origTransactionID: "4606872535",
    }),
    trade({
      ...fx,
      transactionID: "4610738885",
      reportDate: "20250912",
      quantity: "-1145.929445",
      tradePrice: "30.2374637",
      tradeMoney: "-34649.999995949",
      proceeds: "34649.999995949",
      buySell: "SELL",
    }),
  );
  const K = (id: string) => `ibkr:${ACCOUNT}:${id}`;
  assert.deepEqual(
    mapped.activities.map((a) => [a.key, a.activityType, a.amount, a.currency, a.matchKey]),
    [
      [K("4606872535:out"), "TRANSFER_OUT", "1143.28313142", "USD", "trade:1144440025"],
      [K("4606872535:in"), "TRANSFER_IN", "34650.000000013", "TWD", "trade:1144440025"],
      [K("4610738885:out"), "TRANSFER_OUT", "1145.929445", "USD", "trade:1144440025"],
      [K("4610738885:in"), "TRANSFER_IN", "34649.999995949", "TWD", "trade:1144440025"],
    ],
  );
  assert.deepEqual(mapped.skipped.map((s) => [s.key, s.reason]), [
    [K("4610738883"), "cancellation:trade-cancel"],
  ]);
  assert.deepEqual(mapped.outcomes[1].cancels, {
    mode: "reverse",
    targetKey: K("4606872535"),
    targetMatch: null,
    reason: "trade-cancel",
  });
});

// ---- keys -------------------------------------------------------------------------------------

Deno.test("a trade without transactionID or tradeID gets a composite key that is the same on every run", () => {
  const row = trade({ transactionID: undefined, tradeID: undefined });
  const first = mapTrades(row).activities[0].key;
  const second = mapTrades(row).activities[0].key;
  assert.equal(first, second);
  assert.equal(first, `ibkr:${ACCOUNT}:trade:2025-01-15:265598:10:228.26`);
  // Wealthfolio's sourceRecordId is the key without its scheme.
  assert.equal(
    mapTrades(row).activities[0].sourceRecordId,
    `${ACCOUNT}:trade:2025-01-15:265598:10:228.26`,
  );
});

Deno.test("two identical trades without transactionID get distinct keys, the second suffixed #2", () => {
  const row = trade({ transactionID: "", tradeID: "" });
  const keys = mapTrades(row, row, row).activities.map((a) => a.key);
  const base = `ibkr:${ACCOUNT}:trade:2025-01-15:265598:10:228.26`;
  assert.deepEqual(keys, [base, `${base}#2`, `${base}#3`]);
  // …and the same again on a re-run of the same statement.
  assert.deepEqual(mapTrades(row, row, row).activities.map((a) => a.key), keys);
});

Deno.test("two executions re-using one tradeID without transactionIDs (a cancel's re-booking) get distinct keys", () => {
  // contracts/ibkr-flex.md §2.3/§4.3: the re-booked execution re-uses the cancelled trade's
  // tradeID, so a tradeID cannot identify an execution on its own.
  const mapped = mapTrades(
    trade({ transactionID: undefined, tradeID: "7001001", tradePrice: "228.26" }),
    trade({
      transactionID: undefined,
      tradeID: "7001001",
      tradePrice: "228.16",
      reportDate: "20250117",
    }),
  );
  const keys = mapped.activities.map((a) => a.key);
  assert.equal(keys.length, 2);
  assert.notEqual(keys[0], keys[1], `both executions were keyed ${keys[0]}`);
});

Deno.test("a non-numeric transactionID (an anonymised REDACTED) is no id: such trades get distinct composite keys", () => {
  const mapped = mapTrades(
    trade({ transactionID: "REDACTED", tradeID: "", quantity: "1" }),
    trade({ transactionID: "REDACTED", tradeID: "", quantity: "2" }),
  );
  assert.deepEqual(mapped.activities.map((a) => a.key), [
    `ibkr:${ACCOUNT}:trade:2025-01-15:265598:1:228.26`,
    `ibkr:${ACCOUNT}:trade:2025-01-15:265598:2:228.26`,
  ]);
});

Deno.test("trades are keyed by transactionID, whatever their tradeID", () => {
  const mapped = mapTrades(
    trade({ transactionID: "1", tradeID: "7" }),
    trade({ transactionID: "2", tradeID: "7" }),
    trade({ transactionID: "3", tradeID: "" }),
  );
  assert.deepEqual(mapped.activities.map((a) => a.key), [
    `ibkr:${ACCOUNT}:1`,
    `ibkr:${ACCOUNT}:2`,
    `ibkr:${ACCOUNT}:3`,
  ]);
});

// ---- exact decimal arithmetic -----------------------------------------------------------------

const SCALE = 8;
const ONE = 10n ** BigInt(SCALE);

/** A decimal as IBKR writes it: up to 8 places, trailing zeros possible; kept exactly as units. */
interface Written {
  readonly text: string;
  /** The value × 10^8. */
  readonly units: bigint;
}

/**
 * Decimal text with an integer part below `maxInteger` and 0–8 places. Sums of two such values
 * stay far inside decimal.js's 20 significant digits, as any real commission does.
 */
const written = (signed: boolean, maxInteger: bigint, nonZero = false): fc.Arbitrary<Written> =>
  fc.record({
    integer: fc.bigInt({ min: 0n, max: maxInteger - 1n }),
    places: fc.integer({ min: 0, max: SCALE }),
    fractionSeed: fc.bigInt({ min: 0n, max: ONE - 1n }),
    negative: signed ? fc.boolean() : fc.constant(false),
  }).map(({ integer, places, fractionSeed, negative }) => {
    const fraction = fractionSeed % 10n ** BigInt(places);
    const text = places === 0
      ? `${integer}`
      : `${integer}.${fraction.toString().padStart(places, "0")}`;
    const units = integer * ONE + fraction * 10n ** BigInt(SCALE - places);
    return { text: negative ? `-${text}` : text, units: negative ? -units : units };
  }).filter((v) => !nonZero || v.units !== 0n);

/** The plain decimal string of units / 10^8, without trailing zeros (as the wire wants it). */
function plain(units: bigint): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const fraction = (abs % ONE).toString().padStart(SCALE, "0").replace(/0+$/, "");
  const text = `${abs / ONE}${fraction ? `.${fraction}` : ""}`;
  return negative ? `-${text}` : text;
}

const w = (text: string): Written => {
  const [int, frac = ""] = text.replace("-", "").split(".");
  const units = BigInt(int + frac.padEnd(SCALE, "0"));
  return { text, units: text.startsWith("-") ? -units : units };
};

Deno.test("property: quantity, unitPrice and fee strings equal exact decimal arithmetic on IBKR's text (no float drift)", () => {
  fc.assert(
    fc.property(
      written(true, 10n ** 9n, true),
      written(false, 10n ** 9n),
      written(true, 10n ** 6n),
      written(true, 10n ** 6n),
      (quantity, price, commission, taxes) => {
        const mapped = mapTrades(trade({
          quantity: quantity.text,
          tradePrice: price.text,
          proceeds: undefined,
          ibCommission: commission.text,
          taxes: taxes.text,
        }));
        const cost = -(commission.units + taxes.units);
        const buy = mapped.activities[0];
        assert.equal(buy.activityType, quantity.units < 0n ? "SELL" : "BUY");
        assert.equal(buy.quantity, plain(quantity.units < 0n ? -quantity.units : quantity.units));
        assert.equal(buy.unitPrice, plain(price.units));
        assert.equal(buy.fee, plain(cost > 0n ? cost : 0n));
        if (cost < 0n) {
          assert.equal(mapped.activities.length, 2);
          assert.equal(mapped.activities[1].amount, plain(-cost));
        } else {
          assert.equal(mapped.activities.length, 1);
        }
      },
    ),
    {
      examples: [
        [w("3"), w("0.1"), w("-0.1"), w("-0.2")],
        [w("-0.3"), w("0.2"), w("-0.00000001"), w("-999999.99999999")],
        [w("1.10"), w("1.005"), w("0.1"), w("-0.3")],
      ],
    },
  );
});
