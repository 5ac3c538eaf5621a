import assert from "node:assert/strict";
import type { Cancellation } from "../../src/domain/activity.ts";
import type { ActivityPayload } from "../../src/domain/payload.ts";
import { FlexRowError } from "../../src/flex/errors.ts";
import { dividendStem } from "../../src/mapping/cash.ts";
import { ACCOUNT, type Attributes, cash, dividend, mapCashRows, type Mapped } from "./_rows.ts";

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
    // Paired with its withholding by actionID; found by a reversal by actionID and amount.
    groupKey: `ibkr:${ACCOUNT}:dividend:141000001`,
    sourceRecordId: `${ACCOUNT}:32000002`,
    metadata: null,
    matchKey: "action:141000001:DIVIDEND:USD:2.5",
  }]);
});

Deno.test("Payment In Lieu Of Dividends maps to DIVIDEND with the symbol", () => {
  const a = booked(mapCashRows(dividend({ type: "Payment In Lieu Of Dividends", amount: "1.2" })));
  assert.equal(a.activityType, "DIVIDEND");
  assert.equal(a.symbol, "AAPL");
  assert.equal(a.amount, "1.2");
});

Deno.test("a negative dividend is a dividend-reversal cancellation of the dividend it matches, never flipped into a positive DIVIDEND", () => {
  for (const type of ["Dividends", "Payment In Lieu Of Dividends"]) {
    const mapped = mapCashRows(dividend({
      type,
      amount: "-2.5",
      description: "AAPL(US0378331005) CASH DIVIDEND USD 0.25 PER SHARE - REVERSAL",
    }));
    assert.equal(skipReason(mapped), "cancellation:dividend-reversal", type);
    assert.deepEqual(mapped.activities, [], `${type}: nothing booked, positive or negative`);
    assert.equal(mapped.skipped[0].key, `ibkr:${ACCOUNT}:32000002`);
    assert.equal(mapped.skipped[0].date, "2025-02-13");
    assert.equal(mapped.skipped[0].summary.amount, "-2.5");
    assert.deepEqual(mapped.outcomes[0].cancels, {
      mode: "reverse",
      targetKey: null,
      targetMatch: "action:141000001:DIVIDEND:USD:2.5",
      reason: "dividend-reversal",
    }, type);
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
    matchKey: null,
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

// ---- corrections: reversals, withholding corrections, pairing ---------------------------------

/** The AAPL dividend of 2.5 as mapped (default `dividend()` row). */
const AAPL_DIVIDEND_MATCH = "action:141000001:DIVIDEND:USD:2.5";
const AAPL_STEM = "AAPL(US0378331005) CASH DIVIDEND USD 0.25 PER SHARE";

/** The withholding on the default dividend: same actionID, dateTime and stem. */
function withholding(over: Attributes = {}): string {
  return dividend({
    type: "Withholding Tax",
    amount: "-0.38",
    transactionID: "32000003",
    description: `${AAPL_STEM} - US TAX`,
    ...over,
  });
}

/** A reversal of the default dividend as IBKR posts it: original dateTime and actionID, later reportDate. */
function reversal(over: Attributes = {}): string {
  return dividend({
    amount: "-2.5",
    transactionID: "32000102",
    reportDate: "20250402",
    description: `${AAPL_STEM} - REVERSAL (Ordinary Dividend)`,
    ...over,
  });
}

/** The one outcome's cancellation (throws when the row cancels nothing). */
function cancellationOf(mapped: Mapped, index = 0): Cancellation {
  const c = mapped.outcomes[index].cancels;
  assert.ok(c, `outcome ${index} cancels nothing: ${JSON.stringify(mapped.outcomes[index])}`);
  return c;
}

const REVERSAL_WORDINGS: Record<string, Attributes> = {
  "- REVERSAL (Ordinary Dividend)": {
    description: `${AAPL_STEM} - REVERSAL (Ordinary Dividend)`,
  },
  "(Ordinary Dividend) - REVERSAL (jal ibkr_dividend_reversal.xml)": {
    description: `${AAPL_STEM} (Ordinary Dividend) - REVERSAL`,
  },
  "CANCEL … with code Ca": {
    description: `CANCEL ${AAPL_STEM} (Ordinary Dividend)`,
    code: "Ca",
  },
  "a reworded per-share rate (jal: USD 0.0161 undoing USD 0.30371)": {
    description:
      "AAPL(US0378331005) CASH DIVIDEND USD 0.0161 PER SHARE - REVERSAL (Bonus Dividend)",
  },
  "the amount written -2.50": { amount: "-2.50" },
};

Deno.test("every reversal wording gives the targetMatch the original dividend's matchKey, by actionID", () => {
  for (const [name, over] of Object.entries(REVERSAL_WORDINGS)) {
    const mapped = mapCashRows(dividend(), reversal(over));
    assert.equal(mapped.activities.length, 1, name);
    assert.equal(mapped.activities[0].matchKey, AAPL_DIVIDEND_MATCH, name);
    assert.deepEqual(mapped.skipped.map((s) => s.reason), ["cancellation:dividend-reversal"], name);
    assert.deepEqual(cancellationOf(mapped, 1), {
      mode: "reverse",
      targetKey: null,
      targetMatch: AAPL_DIVIDEND_MATCH,
      reason: "dividend-reversal",
    }, name);
  }
});

Deno.test("without actionID a reversal finds its dividend by the fallback sec:<conid>:<date>:DIVIDEND:<ccy>:<amount>", () => {
  for (const actionID of ["", undefined]) {
    for (const [name, over] of Object.entries(REVERSAL_WORDINGS)) {
      const mapped = mapCashRows(dividend({ actionID }), reversal({ actionID, ...over }));
      const expected = "sec:265598:2025-02-13:DIVIDEND:USD:2.5";
      assert.equal(mapped.activities[0].matchKey, expected, name);
      assert.equal(cancellationOf(mapped, 1).targetMatch, expected, name);
    }
  }
});

Deno.test("actionID decides over the day: a reversal posted on another day still finds its dividend, the fallback does not", () => {
  const later = { dateTime: "20250402;202000", settleDate: "20250402" };
  const byAction = mapCashRows(dividend(), reversal(later));
  assert.equal(cancellationOf(byAction, 1).targetMatch, byAction.activities[0].matchKey);
  const byFallback = mapCashRows(dividend({ actionID: "" }), reversal({ actionID: "", ...later }));
  assert.notEqual(cancellationOf(byFallback, 1).targetMatch, byFallback.activities[0].matchKey);
  assert.equal(cancellationOf(byFallback, 1).targetMatch, "sec:265598:2025-04-02:DIVIDEND:USD:2.5");
});

Deno.test("a reversal of another amount, currency, security or action does not target the dividend", () => {
  const others: Record<string, Attributes> = {
    amount: { amount: "-2.49" },
    currency: { currency: "CAD" },
    action: { actionID: "141000002" },
  };
  for (const [name, over] of Object.entries(others)) {
    const mapped = mapCashRows(dividend(), reversal(over));
    assert.notEqual(cancellationOf(mapped, 1).targetMatch, AAPL_DIVIDEND_MATCH, name);
  }
  const otherSecurity = mapCashRows(
    dividend({ actionID: "" }),
    reversal({ actionID: "", conid: "4815747", symbol: "NVDA" }),
  );
  assert.notEqual(
    cancellationOf(otherSecurity, 1).targetMatch,
    otherSecurity.activities[0].matchKey,
  );
});

Deno.test("a negative Payment In Lieu without reversal wording is a FEE (a short position paying the dividend), not a cancellation", () => {
  const mapped = mapCashRows(dividend({
    type: "Payment In Lieu Of Dividends",
    amount: "-1.2",
    description: "AAPL(US0378331005) PAYMENT IN LIEU OF DIVIDEND (Ordinary Dividend)",
  }));
  const fee = booked(mapped);
  assert.deepEqual([fee.activityType, fee.subtype, fee.amount, fee.currency], [
    "FEE",
    null,
    "1.2",
    "USD",
  ]);
  assert.equal(fee.matchKey, null, "a FEE is never the target of a dividend reversal");
  assert.equal(mapped.outcomes[0].cancels, undefined);
});

Deno.test("a negative Payment In Lieu with reversal wording (- REVERSAL, CANCEL/Ca) is a cancellation of the PIL it matches", () => {
  const pil = dividend({
    type: "Payment In Lieu Of Dividends",
    amount: "1.2",
    description: "AAPL(US0378331005) PAYMENT IN LIEU OF DIVIDEND (Ordinary Dividend)",
  });
  const wordings: Record<string, Attributes> = {
    "- REVERSAL": {
      description: "AAPL(US0378331005) PAYMENT IN LIEU OF DIVIDEND - REVERSAL (Ordinary Dividend)",
    },
    "CANCEL, code Ca": {
      description: "CANCEL AAPL(US0378331005) PAYMENT IN LIEU OF DIVIDEND (Ordinary Dividend)",
      code: "Ca",
    },
  };
  for (const [name, over] of Object.entries(wordings)) {
    const mapped = mapCashRows(
      pil,
      dividend({
        type: "Payment In Lieu Of Dividends",
        amount: "-1.2",
        transactionID: "32000103",
        reportDate: "20250402",
        ...over,
      }),
    );
    assert.deepEqual(mapped.activities.map((a) => [a.activityType, a.amount]), [[
      "DIVIDEND",
      "1.2",
    ]]);
    assert.deepEqual(mapped.skipped.map((s) => s.reason), ["cancellation:dividend-reversal"], name);
    assert.equal(cancellationOf(mapped, 1).mode, "reverse", name);
    assert.equal(cancellationOf(mapped, 1).targetMatch, mapped.activities[0].matchKey, name);
    assert.equal(mapped.activities[0].matchKey, "action:141000001:DIVIDEND:USD:1.2", name);
  }
});

Deno.test("negative Withholding Tax is a TAX found by …:TAX:<ccy>:<amount>, by actionID or the fallback", () => {
  assert.equal(booked(mapCashRows(withholding())).matchKey, "action:141000001:TAX:USD:0.38");
  assert.equal(
    booked(mapCashRows(withholding({ actionID: "" }))).matchKey,
    "sec:265598:2025-02-13:TAX:USD:0.38",
  );
});

Deno.test("positive Withholding Tax is a CREDIT REFUND carrying a net cancellation of the TAX it matches", () => {
  const cases: Record<string, Attributes> = {
    "a plain refund": { description: `${AAPL_STEM} - US TAX` },
    "CANCEL … - US TAX, code Ca (jal)": { description: `CANCEL ${AAPL_STEM} - US TAX`, code: "Ca" },
    "written 0.380": { amount: "0.380" },
  };
  for (const [name, over] of Object.entries(cases)) {
    const mapped = mapCashRows(
      withholding(),
      withholding({ amount: "0.38", transactionID: "32000103", reportDate: "20250402", ...over }),
    );
    const [tax, refund] = mapped.activities;
    assert.deepEqual([tax.activityType, tax.amount], ["TAX", "0.38"], name);
    assert.deepEqual([refund.activityType, refund.subtype, refund.amount, refund.currency], [
      "CREDIT",
      "REFUND",
      "0.38",
      "USD",
    ], name);
    assert.equal(refund.symbol, null, name);
    assert.equal(refund.matchKey, null, `${name}: a refund is not itself a TAX to be matched`);
    assert.equal(mapped.outcomes[0].cancels, undefined, name);
    assert.deepEqual(cancellationOf(mapped, 1), {
      mode: "net",
      targetKey: null,
      targetMatch: "action:141000001:TAX:USD:0.38",
      reason: "withholding-correction",
    }, name);
    assert.equal(cancellationOf(mapped, 1).targetMatch, tax.matchKey, name);
  }
  const fallback = mapCashRows(
    withholding({ actionID: "" }),
    withholding({ actionID: "", amount: "0.38" }),
  );
  assert.equal(cancellationOf(fallback, 1).targetMatch, "sec:265598:2025-02-13:TAX:USD:0.38");
  assert.equal(cancellationOf(fallback, 1).targetMatch, fallback.activities[0].matchKey);
});

Deno.test("a withholding and its dividend share one groupKey by actionID, whatever their descriptions", () => {
  const mapped = mapCashRows(
    dividend(),
    withholding({ description: "AAPL(US0378331005) CASH DIVIDEND USD 0.2500 PER SHARE - US TAX" }),
    withholding({ transactionID: "32000004", amount: "0.38", reportDate: "20250402" }),
  );
  assert.deepEqual(
    mapped.activities.map((a) => [a.activityType, a.groupKey]),
    [
      ["DIVIDEND", `ibkr:${ACCOUNT}:dividend:141000001`],
      ["TAX", `ibkr:${ACCOUNT}:dividend:141000001`],
      ["CREDIT", `ibkr:${ACCOUNT}:dividend:141000001`],
    ],
  );
});

Deno.test("without actionID a withholding and its dividend share a groupKey by the fallback: conid, day and description stem", () => {
  const group = `ibkr:${ACCOUNT}:dividend:265598:2025-02-13:${AAPL_STEM}`;
  const mapped = mapCashRows(dividend({ actionID: "" }), withholding({ actionID: undefined }));
  assert.deepEqual(mapped.activities.map((a) => a.groupKey), [group, group]);

  const apart: Record<string, Attributes> = {
    "another day": { dateTime: "20250214;202000", settleDate: "20250214" },
    "another security": { conid: "4815747" },
    "another stem": { description: "AAPL(US0378331005) CASH DIVIDEND USD 0.26 PER SHARE - US TAX" },
  };
  for (const [name, over] of Object.entries(apart)) {
    const [div, tax] =
      mapCashRows(dividend({ actionID: "" }), withholding({ actionID: "", ...over }))
        .activities;
    assert.notEqual(div.groupKey, tax.groupKey, name);
  }
  // A PIL pairs with its tax the same way (jal ORCC rows).
  const pil = mapCashRows(
    dividend({
      actionID: "",
      type: "Payment In Lieu Of Dividends",
      description: "AAPL(US0378331005) PAYMENT IN LIEU OF DIVIDEND (Ordinary Dividend)",
    }),
    withholding({
      actionID: "",
      description: "AAPL(US0378331005) PAYMENT IN LIEU OF DIVIDEND - US TAX",
    }),
  );
  assert.equal(pil.activities[0].groupKey, pil.activities[1].groupKey);
  assert.equal(
    pil.activities[0].groupKey,
    `ibkr:${ACCOUNT}:dividend:265598:2025-02-13:AAPL(US0378331005) PAYMENT IN LIEU OF DIVIDEND`,
  );
});

Deno.test("only dividends, PIL and withholding are grouped: other cash activities keep groupKey and matchKey null", () => {
  for (const [type, amount] of [["Other Fees", "-0.02"], ["Broker Interest Received", "1"]]) {
    const a = booked(mapCashRows(dividend({ type, amount })));
    assert.deepEqual([a.groupKey, a.matchKey], [null, null], type);
  }
});

Deno.test("dividendStem strips CANCEL, the (…) suffix, - REVERSAL and - XX TAX in any order (jal descriptions)", () => {
  const cases: [string, string][] = [
    [
      "BEP(BMG162581083) CASH DIVIDEND USD 0.30371 PER SHARE (Ordinary Dividend)",
      "BEP(BMG162581083) CASH DIVIDEND USD 0.30371 PER SHARE",
    ],
    [
      "BEP(BMG162581083) CASH DIVIDEND USD 0.30371 PER SHARE - CA TAX",
      "BEP(BMG162581083) CASH DIVIDEND USD 0.30371 PER SHARE",
    ],
    [
      "CANCEL BEP(BMG162581083) CASH DIVIDEND USD 0.30371 PER SHARE - CA TAX",
      "BEP(BMG162581083) CASH DIVIDEND USD 0.30371 PER SHARE",
    ],
    [
      "CANCEL BEP(BMG162581083) CASH DIVIDEND USD 0.30371 PER SHARE (Ordinary Dividend)",
      "BEP(BMG162581083) CASH DIVIDEND USD 0.30371 PER SHARE",
    ],
    [
      "BEP(BMG162581083) CASH DIVIDEND USD 0.0161 PER SHARE - REVERSAL (Bonus Dividend)",
      "BEP(BMG162581083) CASH DIVIDEND USD 0.0161 PER SHARE",
    ],
    [
      "TRSY(US1111111111) CASH DIVIDEND USD 0.500000 PER SHARE (Ordinary Dividend) - REVERSAL",
      "TRSY(US1111111111) CASH DIVIDEND USD 0.500000 PER SHARE",
    ],
    [
      "TRSY(US1111111111) CASH DIVIDEND USD 0.500000 PER SHARE - US TAX",
      "TRSY(US1111111111) CASH DIVIDEND USD 0.500000 PER SHARE",
    ],
    [
      "TEF (US8793822086) STOCK DIVIDEND US8793822086 416666667 FOR 10000000000 - REVERSAL (Ordinary Dividend)",
      "TEF (US8793822086) STOCK DIVIDEND US8793822086 416666667 FOR 10000000000",
    ],
    [
      "ORCC(US69121K1043) PAYMENT IN LIEU OF DIVIDEND - US TAX",
      "ORCC(US69121K1043) PAYMENT IN LIEU OF DIVIDEND",
    ],
    [
      "ORCC(US69121K1043)  CASH DIVIDEND USD 0.39 PER SHARE   (Return of Capital)",
      "ORCC(US69121K1043) CASH DIVIDEND USD 0.39 PER SHARE",
    ],
    [
      "WITHHOLDING @ 30% ON YIELD ENHANCEMENT INCOME",
      "WITHHOLDING @ 30% ON YIELD ENHANCEMENT INCOME",
    ],
  ];
  for (const [description, stem] of cases) {
    assert.equal(dividendStem(description), stem, description);
  }
});
