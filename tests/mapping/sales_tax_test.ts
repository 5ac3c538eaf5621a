/** SalesTaxes rows (VAT on IBKR's own fees), shaped after PP testIBFlexStatementFile17.xml. */
import assert from "node:assert/strict";
import { ACCOUNT, type Attributes, element, mapSections } from "./_rows.ts";
import { FlexRowError } from "../../src/flex/errors.ts";

function salesTax(over: Attributes = {}): string {
  return element("SalesTax", {
    accountId: ACCOUNT,
    currency: "USD",
    fxRateToBase: "1",
    assetCategory: "",
    symbol: "",
    date: "20230302",
    country: "Austria",
    taxType: "VAT",
    payer: ACCOUNT,
    taxableDescription: "r******09:NASDAQ (UTP Tape C) Level 1",
    taxableAmount: "-1.5",
    taxRate: "0.2",
    salesTax: "-0.3",
    taxableTransactionID: "457125101",
    transactionID: "457155534",
    code: "",
    ...over,
  });
}

const mapTaxes = (...rows: string[]) => mapSections(`<SalesTaxes>${rows.join("")}</SalesTaxes>`);

Deno.test("VAT IBKR charges on a market-data fee is a TAX of its amount, a cash activity keyed by its transactionID", () => {
  const { activities, skipped } = mapTaxes(salesTax());
  assert.deepEqual(skipped, []);
  assert.deepEqual(
    activities.map((a) => [
      a.key,
      a.activityType,
      a.subtype,
      a.amount,
      a.currency,
      a.symbol,
      a.date,
      a.notes,
    ]),
    [[
      `ibkr:${ACCOUNT}:457155534`,
      "TAX",
      null,
      "0.3",
      "USD",
      null,
      "2023-03-02T00:00:00Z",
      "IBKR VAT Austria on r******09:NASDAQ (UTP Tape C) Level 1",
    ]],
  );
});

Deno.test("a positive sales tax is a refund, never a negative tax", () => {
  const [refund] = mapTaxes(salesTax({ salesTax: "0.3" })).activities;
  assert.deepEqual([refund.activityType, refund.subtype, refund.amount], [
    "CREDIT",
    "REFUND",
    "0.3",
  ]);
});

Deno.test("a sales tax without an amount, or of zero, is skipped with its reason; without a date it is an error naming the row", () => {
  assert.equal(
    mapTaxes(salesTax({ salesTax: undefined })).skipped[0].reason,
    "missing-field:salesTax",
  );
  assert.equal(mapTaxes(salesTax({ salesTax: "0" })).skipped[0].reason, "zero-amount");
  assert.throws(() => mapTaxes(salesTax({ date: undefined })), FlexRowError);
});

Deno.test("sales-tax rows without a transactionID get distinct composite keys", () => {
  const { activities } = mapTaxes(
    salesTax({ transactionID: "" }),
    salesTax({ transactionID: "", taxableTransactionID: "457125105" }),
    salesTax({ transactionID: "" }),
  );
  assert.equal(new Set(activities.map((a) => a.key)).size, 3);
});
