import assert from "node:assert/strict";
import type { ActivityPayload } from "../../src/domain/payload.ts";
import { FlexRowError } from "../../src/flex/errors.ts";
import { ACCOUNT, cash, dividend, mapCashRows, type Mapped } from "./_rows.ts";

/** The single activity a single cash row became. */
function booked(mapped: Mapped): ActivityPayload {
  assert.deepEqual(
    mapped.skipped,
    [],
    `expected an activity, got ${JSON.stringify(mapped.skipped)}`,
  );
  assert.equal(mapped.activities.length, 1);
  return mapped.activities[0];
}

/** The skip reason of a single cash row that was not booked. */
function skipReason(mapped: Mapped): string {
  assert.deepEqual(
    mapped.activities,
    [],
    `expected a skip, got ${JSON.stringify(mapped.activities)}`,
  );
  assert.equal(mapped.skipped.length, 1);
  return mapped.skipped[0].reason;
}

/** A cash row of `type` and `amount` with no security (fees, interest, deposits…). */
function cashOf(type: string, amount: string): string {
  return cash({ type, amount, currency: "USD", description: `${type} ${amount}` });
}

/** [activityType, subtype] of the one activity the row became. */
function typeOf(row: string): [string, string | null] {
  const a = booked(mapCashRows(row));
  return [a.activityType, a.subtype];
}

// ---- the table, row by row ---------------------------------------------------------------------

Deno.test("Dividends map to DIVIDEND carrying the security's symbol, in the row's currency", () => {
  assert.deepEqual(mapCashRows(dividend()).activities, [{
    key: `ibkr:${ACCOUNT}:32000002`,
    account: ACCOUNT,
    activityType: "DIVIDEND",
    subtype: null,
    date: "2025-02-13T23:59:59Z",
    symbol: "AAPL",
    exchangeMic: "XNAS",
    instrumentType: "EQUITY",
    name: null,
    isin: "US0378331005",
    conid: "265598",
    quantity: null,
    unitPrice: null,
    amount: "2.5",
    fee: null,
    currency: "USD",
    notes: "AAPL(US0378331005) CASH DIVIDEND USD 0.25 PER SHARE (Ordinary Dividend)",
    groupKey: null,
    sourceRecordId: `${ACCOUNT}:32000002`,
    metadata: null,
  }]);
});

Deno.test("Payment In Lieu Of Dividends maps to DIVIDEND with the symbol", () => {
  const a = booked(mapCashRows(dividend({ type: "Payment In Lieu Of Dividends", amount: "1.2" })));
  assert.equal(a.activityType, "DIVIDEND");
  assert.equal(a.symbol, "AAPL");
  assert.equal(a.amount, "1.2");
});

Deno.test("a negative dividend is skipped as not-yet-mapped:dividend-reversal, never flipped into a positive DIVIDEND", () => {
  for (const type of ["Dividends", "Payment In Lieu Of Dividends"]) {
    const mapped = mapCashRows(dividend({
      type,
      amount: "-2.5",
      description: "AAPL(US0378331005) CASH DIVIDEND USD 0.25 PER SHARE - REVERSAL",
    }));
    assert.equal(skipReason(mapped), "not-yet-mapped:dividend-reversal", type);
    assert.equal(mapped.skipped[0].key, `ibkr:${ACCOUNT}:32000002`);
    assert.equal(mapped.skipped[0].date, "2025-02-13");
    assert.equal(mapped.skipped[0].summary.amount, "-2.5");
  }
});

Deno.test("negative Withholding Tax maps to TAX of |amount|", () => {
  const a = booked(mapCashRows(dividend({
    type: "Withholding Tax",
    amount: "-0.38",
    transactionID: "32000003",
    description: "AAPL(US0378331005) CASH DIVIDEND USD 0.25 PER SHARE - US TAX",
  })));
  assert.equal(a.key, `ibkr:${ACCOUNT}:32000003`);
  assert.equal(a.activityType, "TAX");
  assert.equal(a.subtype, null);
  assert.equal(a.amount, "0.38");
  assert.equal(a.currency, "USD");
  assert.equal(a.date, "2025-02-13T23:59:59Z");
});

Deno.test("positive Withholding Tax (a refund) maps to CREDIT REFUND", () => {
  const a = booked(mapCashRows(dividend({ type: "Withholding Tax", amount: "0.38" })));
  assert.equal(a.activityType, "CREDIT");
  assert.equal(a.subtype, "REFUND");
  assert.equal(a.amount, "0.38");
});

Deno.test("Broker Interest Received and Bond Interest Received map to INTEREST", () => {
  for (const type of ["Broker Interest Received", "Bond Interest Received"]) {
    assert.deepEqual(typeOf(cashOf(type, "4.17")), ["INTEREST", null], type);
  }
});

Deno.test("a negative Broker Interest Received is skipped as unexpected-sign:negative:<type>", () => {
  assert.equal(
    skipReason(mapCashRows(cashOf("Broker Interest Received", "-0.5"))),
    "unexpected-sign:negative:Broker Interest Received",
  );
});

Deno.test("Broker Interest Paid and Bond Interest Paid map to FEE; positive ones to CREDIT REFUND", () => {
  for (const type of ["Broker Interest Paid", "Bond Interest Paid"]) {
    assert.deepEqual(typeOf(cashOf(type, "-3.21")), ["FEE", null], type);
    assert.deepEqual(typeOf(cashOf(type, "3.21")), ["CREDIT", "REFUND"], type);
  }
});

Deno.test("Other Fees, Advisor Fees, Fees and Commission Adjustments map to FEE; positive ones to CREDIT REFUND", () => {
  for (const type of ["Other Fees", "Advisor Fees", "Fees", "Commission Adjustments"]) {
    const fee = booked(mapCashRows(cashOf(type, "-1.5")));
    assert.deepEqual([fee.activityType, fee.subtype, fee.amount], ["FEE", null, "1.5"], type);
    const refund = booked(mapCashRows(cashOf(type, "1.5")));
    assert.deepEqual([refund.activityType, refund.subtype, refund.amount], [
      "CREDIT",
      "REFUND",
      "1.5",
    ], type);
  }
});

Deno.test("Deposits/Withdrawals and Deposits & Withdrawals map to DEPOSIT or WITHDRAWAL by sign", () => {
  for (const type of ["Deposits/Withdrawals", "Deposits & Withdrawals"]) {
    const deposit = booked(mapCashRows(cash({ type, amount: "5000" })));
    assert.deepEqual([deposit.activityType, deposit.amount, deposit.currency], [
      "DEPOSIT",
      "5000",
      "GBP",
    ], type);
    const withdrawal = booked(mapCashRows(cash({ type, amount: "-1,250.75" })));
    assert.deepEqual([withdrawal.activityType, withdrawal.amount], ["WITHDRAWAL", "1250.75"], type);
  }
});

Deno.test("a deposit maps to the full payload, keyed by transactionID, with no symbol", () => {
  assert.deepEqual(mapCashRows(cash()).activities, [{
    key: `ibkr:${ACCOUNT}:32000001`,
    account: ACCOUNT,
    activityType: "DEPOSIT",
    subtype: null,
    date: "2025-01-06T15:15:00Z",
    symbol: null,
    exchangeMic: null,
    instrumentType: null,
    name: null,
    isin: null,
    conid: null,
    quantity: null,
    unitPrice: null,
    amount: "5000",
    fee: null,
    currency: "GBP",
    notes: "CASH RECEIPTS / ELECTRONIC FUND TRANSFERS",
    groupKey: null,
    sourceRecordId: `${ACCOUNT}:32000001`,
    metadata: null,
  }]);
});

Deno.test("an unknown cash type is skipped as unknown-cash-type:<type>, never guessed", () => {
  assert.equal(
    skipReason(mapCashRows(cashOf("Fees Rebate", "0.5"))),
    "unknown-cash-type:Fees Rebate",
  );
  assert.equal(
    skipReason(mapCashRows(cashOf("Management Fees", "-10"))),
    "unknown-cash-type:Management Fees",
  );
  assert.equal(
    skipReason(mapCashRows(cash({ type: undefined }))),
    "unknown-cash-type:none",
  );
});

Deno.test("a zero amount is skipped as zero-amount", () => {
  assert.equal(skipReason(mapCashRows(cashOf("Other Fees", "0"))), "zero-amount");
  assert.equal(skipReason(mapCashRows(dividend({ amount: "0.00" }))), "zero-amount");
});

Deno.test("a cash row without an amount is skipped as missing-field:amount", () => {
  assert.equal(skipReason(mapCashRows(cash({ amount: undefined }))), "missing-field:amount");
});

Deno.test("cash activities never carry a symbol, MIC or instrument type, except DIVIDEND", () => {
  // Every non-dividend row here carries the dividend's security attributes, as IBKR writes them on
  // withholding tax and ADR fees.
  const rows: [string, string][] = [
    ["Withholding Tax", "-0.38"],
    ["Withholding Tax", "0.38"],
    ["Broker Interest Received", "1"],
    ["Bond Interest Received", "1"],
    ["Broker Interest Paid", "-1"],
    ["Bond Interest Paid", "-1"],
    ["Other Fees", "-0.02"],
    ["Other Fees", "0.02"],
    ["Advisor Fees", "-1"],
    ["Fees", "-1"],
    ["Commission Adjustments", "0.5"],
    ["Deposits/Withdrawals", "100"],
    ["Deposits & Withdrawals", "-100"],
  ];
  for (const [type, amount] of rows) {
    const a = booked(mapCashRows(dividend({ type, amount })));
    assert.deepEqual(
      [a.symbol, a.exchangeMic, a.instrumentType],
      [null, null, null],
      `${type} ${amount} became ${a.activityType} with symbol ${a.symbol}`,
    );
  }
  assert.equal(booked(mapCashRows(dividend())).symbol, "AAPL");
});

// ---- dates -------------------------------------------------------------------------------------

Deno.test("a dividend stamped 20250213;202000 (20:20 ET, after midnight UTC) keeps the date 2025-02-13", () => {
  const a = booked(mapCashRows(dividend({ dateTime: "20250213;202000" })));
  assert.equal(a.date, "2025-02-13T23:59:59Z");
  assert.equal(new Date(a.date).toISOString().slice(0, 10), "2025-02-13");
});

Deno.test("a cash row dated by dateTime alone, date-only, is booked at 00:00:00Z of that date", () => {
  const a = booked(mapCashRows(cash({ dateTime: "2025-01-06", settleDate: "20250108" })));
  assert.equal(a.date, "2025-01-06T00:00:00Z");
});

Deno.test("a cash row without dateTime uses its settleDate", () => {
  const a = booked(mapCashRows(cash({ dateTime: undefined, settleDate: "20250108" })));
  assert.equal(a.date, "2025-01-08T00:00:00Z");
});

Deno.test("a cash row with only reportDate is dated by it", () => {
  const a = booked(mapCashRows(cash({
    dateTime: undefined,
    settleDate: undefined,
    reportDate: "20250304",
  })));
  assert.equal(a.date, "2025-03-04T00:00:00Z");
});

Deno.test("a cash row with no date at all is a FlexRowError naming the row, never dated today", () => {
  for (const transactionID of ["32000009", ""]) {
    assert.throws(
      () =>
        mapCashRows(cash({
          transactionID,
          dateTime: undefined,
          settleDate: undefined,
          reportDate: undefined,
        })),
      (e: unknown) => {
        assert.ok(e instanceof FlexRowError, `expected FlexRowError, got ${e}`);
        assert.equal(e.section, "CashTransactions");
        assert.equal(e.attribute, "dateTime");
        assert.equal(e.transactionId, transactionID || null);
        return true;
      },
    );
  }
});

// ---- currencies and keys -----------------------------------------------------------------------

Deno.test("a GBX dividend is booked in GBP, divided by 100", () => {
  const a = booked(mapCashRows(dividend({
    currency: "GBX",
    symbol: "SHEL",
    listingExchange: "LSE",
    conid: "1",
    isin: "GB00BP6MXD84",
    amount: "1550",
  })));
  assert.deepEqual([a.symbol, a.exchangeMic, a.currency, a.amount], [
    "SHEL.L",
    "XLON",
    "GBP",
    "15.5",
  ]);
});

Deno.test("a cash row in GBP on an LSE security is booked unchanged", () => {
  const a = booked(mapCashRows(dividend({
    currency: "GBP",
    symbol: "VUAG",
    listingExchange: "LSEETF",
    amount: "455.5",
  })));
  assert.deepEqual([a.symbol, a.currency, a.amount], ["VUAG.L", "GBP", "455.5"]);
});

Deno.test("a cash row carrying a tradeID (a bond's accrued interest) takes the :cash leg of its transactionID", () => {
  const a = booked(mapCashRows(cash({
    type: "Bond Interest Paid",
    amount: "-12.5",
    currency: "USD",
    transactionID: "31000007",
    tradeID: "7001007",
  })));
  assert.equal(a.key, `ibkr:${ACCOUNT}:31000007:cash`);
  assert.equal(a.sourceRecordId, `${ACCOUNT}:31000007:cash`);
});

Deno.test("a DETAIL cash row with a non-numeric transactionID gets a composite key of date, type, actionID or conid, currency and amount", () => {
  const mapped = mapCashRows(
    dividend({ transactionID: "REDACTED" }),
    dividend({ transactionID: "REDACTED" }),
    dividend({ transactionID: "REDACTED", actionID: "", conid: "265598", amount: "3" }),
  );
  assert.deepEqual(mapped.activities.map((a) => a.key), [
    `ibkr:${ACCOUNT}:cash:2025-02-13:Dividends:141000001:USD:2.5`,
    `ibkr:${ACCOUNT}:cash:2025-02-13:Dividends:141000001:USD:2.5#2`,
    `ibkr:${ACCOUNT}:cash:2025-02-13:Dividends:265598:USD:3`,
  ]);
});
