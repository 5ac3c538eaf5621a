import assert from "node:assert/strict";
import {
  ACCOUNT,
  cash,
  corporateAction,
  dividend,
  element,
  flexDocument,
  mapCashRows,
  mapDocument,
  mapSections,
  trade,
} from "./_rows.ts";

/** A SUMMARY cash row of a real account: no transactionID, a date without time, an exDate. */
function summaryDividend(over: Record<string, string | undefined> = {}): string {
  return dividend({
    levelOfDetail: "SUMMARY",
    transactionID: "",
    dateTime: "20250213",
    exDate: "20250210",
    ...over,
  });
}

// ---- SUMMARY and DETAIL cash rows ---------------------------------------------------------------

Deno.test('SUMMARY cash rows with accountId "-" are ignored as cash-summary-duplicate, never booked', () => {
  const mapped = mapCashRows(
    dividend(),
    summaryDividend({ accountId: "-" }),
  );
  assert.deepEqual(mapped.activities.map((a) => a.key), [`ibkr:${ACCOUNT}:32000002`]);
  assert.deepEqual(mapped.skipped, []);
  assert.deepEqual(mapped.ignored, ["cash-summary-duplicate"]);
});

Deno.test('SUMMARY cash rows with accountId "-" are ignored even when no DETAIL row exists', () => {
  const mapped = mapCashRows(summaryDividend({ accountId: "-" }));
  assert.deepEqual(mapped.outcomes, []);
  assert.deepEqual(mapped.ignored, ["cash-summary-duplicate"]);
});

Deno.test("SUMMARY rows of a real account in an export with no DETAIL rows are booked under composite keys", () => {
  const mapped = mapCashRows(
    summaryDividend(),
    summaryDividend({
      type: "Withholding Tax",
      amount: "-0.38",
      description: "AAPL(US0378331005) CASH DIVIDEND USD 0.25 PER SHARE - US TAX",
    }),
  );
  assert.deepEqual(mapped.activities.map((a) => [a.key, a.activityType, a.amount, a.date]), [
    [
      `ibkr:${ACCOUNT}:cash:2025-02-13:Dividends:141000001:USD:2.5`,
      "DIVIDEND",
      "2.5",
      "2025-02-13T00:00:00Z",
    ],
    [
      `ibkr:${ACCOUNT}:cash:2025-02-13:Withholding_Tax:141000001:USD:-0.38`,
      "TAX",
      "0.38",
      "2025-02-13T00:00:00Z",
    ],
  ]);
  assert.equal(
    mapped.activities[0].sourceRecordId,
    `${ACCOUNT}:cash:2025-02-13:Dividends:141000001:USD:2.5`,
  );
  assert.deepEqual(mapped.ignored, []);
});

Deno.test("the same SUMMARY-only export mapped twice gives the same keys", () => {
  const rows = [summaryDividend(), summaryDividend(), summaryDividend({ amount: "3" })];
  const first = mapCashRows(...rows).activities.map((a) => a.key);
  assert.deepEqual(first, [
    `ibkr:${ACCOUNT}:cash:2025-02-13:Dividends:141000001:USD:2.5`,
    `ibkr:${ACCOUNT}:cash:2025-02-13:Dividends:141000001:USD:2.5#2`,
    `ibkr:${ACCOUNT}:cash:2025-02-13:Dividends:141000001:USD:3`,
  ]);
  assert.deepEqual(mapCashRows(...rows).activities.map((a) => a.key), first);
});

Deno.test("SUMMARY rows of a real account beside DETAIL rows are ignored as cash-summary-beside-detail", () => {
  // Whichever comes first in the section: the DETAIL row decides.
  for (const rows of [[dividend(), summaryDividend()], [summaryDividend(), dividend()]]) {
    const mapped = mapCashRows(...rows);
    assert.deepEqual(mapped.activities.map((a) => a.key), [`ibkr:${ACCOUNT}:32000002`]);
    assert.deepEqual(mapped.skipped, []);
    assert.deepEqual(mapped.ignored, ["cash-summary-beside-detail"]);
  }
});

Deno.test("DETAIL rows of one statement do not suppress the SUMMARY-only rows of another", () => {
  const mapped = mapDocument(flexDocument([
    { accountId: "U1111111", sections: `<CashTransactions>${dividend()}</CashTransactions>` },
    {
      accountId: "U2222222",
      sections: `<CashTransactions>${summaryDividend({ accountId: "U2222222" })}` +
        `</CashTransactions>`,
    },
  ]));
  assert.deepEqual(mapped.activities.map((a) => a.key), [
    "ibkr:U1111111:32000002",
    "ibkr:U2222222:cash:2025-02-13:Dividends:141000001:USD:2.5",
  ]);
  assert.deepEqual(mapped.ignored, []);
});

Deno.test("a SUMMARY row that carries a numeric transactionID is booked under it like a DETAIL row", () => {
  const mapped = mapCashRows(summaryDividend({ transactionID: "32000010" }));
  assert.deepEqual(mapped.activities.map((a) => a.key), [`ibkr:${ACCOUNT}:32000010`]);
});

// ---- reference rows and statements -------------------------------------------------------------

Deno.test("reference rows (OpenPosition, CashReportCurrency, SecurityInfo, ConversionRate, AccountInformation) are ignored as reference:<tag>", () => {
  const mapped = mapSections(
    element("AccountInformation", { accountId: ACCOUNT, currency: "GBP" }) +
      `<OpenPositions>${
        element("OpenPosition", {
          accountId: ACCOUNT,
          symbol: "AAPL",
          position: "7",
          levelOfDetail: "SUMMARY",
        })
      }</OpenPositions>` +
      `<CashReport>${
        element("CashReportCurrency", { accountId: ACCOUNT, currency: "GBP", endingCash: "1" })
      }</CashReport>` +
      `<SecuritiesInfo>${element("SecurityInfo", { symbol: "AAPL", conid: "265598" })}` +
      `</SecuritiesInfo>` +
      `<ConversionRates>${
        element("ConversionRate", {
          reportDate: "20250630",
          fromCurrency: "USD",
          toCurrency: "GBP",
          rate: "0.73",
        })
      }</ConversionRates>`,
  );
  assert.deepEqual(mapped.outcomes, []);
  assert.deepEqual(mapped.ignored, [
    "reference:AccountInformation",
    "reference:OpenPosition",
    "reference:CashReportCurrency",
    "reference:SecurityInfo",
    "reference:ConversionRate",
  ]);
});

Deno.test("each statement's rows are keyed by that statement's account", () => {
  const mapped = mapDocument(flexDocument([
    { accountId: "U1111111", sections: `<Trades>${trade()}</Trades>` },
    { accountId: "U2222222", sections: `<Trades>${trade()}</Trades>` },
  ]));
  assert.deepEqual(mapped.activities.map((a) => [a.key, a.account]), [
    ["ibkr:U1111111:31000001", "U1111111"],
    ["ibkr:U2222222:31000001", "U2222222"],
  ]);
});

Deno.test("the same row in two statements of one account (a hand-assembled file) gets the same key twice", () => {
  const sections = `<Trades>${trade({ transactionID: "", tradeID: "" })}</Trades>` +
    `<CashTransactions>${summaryDividend()}</CashTransactions>`;
  const mapped = mapDocument(flexDocument([{ sections }, { sections }]));
  const keys = mapped.activities.map((a) => a.key);
  assert.equal(keys.length, 4);
  assert.deepEqual(keys.slice(2), keys.slice(0, 2));
});

Deno.test("every importable row gets exactly one outcome, in document order", () => {
  const mapped = mapSections(
    `<Trades>${trade({ transactionID: "1" })}${
      trade({ transactionID: "2", assetCategory: "OPT" })
    }</Trades>` +
      `<CashTransactions>${cash({ transactionID: "3" })}${
        cash({ transactionID: "4", type: "Mystery" })
      }</CashTransactions>` +
      `<CorporateActions>${corporateAction({ transactionID: "5" })}</CorporateActions>`,
  );
  assert.deepEqual(
    mapped.outcomes.map((o) =>
      o.kind === "activities" ? o.activities.map((a) => a.key).join(",") : o.skipped.key
    ),
    ["1", "2", "3", "4", "5"].map((id) => `ibkr:${ACCOUNT}:${id}`),
  );
});
