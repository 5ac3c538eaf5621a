import assert from "node:assert/strict";
import { baseSummaryAsCurrency, sameAccount } from "../../src/books/cash_report.ts";

Deno.test("a CashReport row's account is the statement's when equal, or masked with every visible character in place", () => {
  assert.equal(sameAccount("U7654321", "U7654321"), true);
  assert.equal(sameAccount("U***4321", "U7654321"), true, "jal ibkr.xml's own USD row");
  assert.equal(sameAccount("U7******", "U7654321"), true);
});

Deno.test("another account's CashReport row is never taken for the statement's, masked or not", () => {
  assert.equal(sameAccount("TEST_ACC", "U7654321"), false, "jal ibkr.xml's foreign rows");
  assert.equal(sameAccount("U7654322", "U7654321"), false);
  assert.equal(sameAccount("U***4322", "U7654321"), false, "a visible digit differs");
  assert.equal(sameAccount("U**4321", "U7654321"), false, "a mask of another length");
  assert.equal(sameAccount("U***4321", "U17654321"), false);
});

const BASE = {
  currency: "BASE_SUMMARY",
  attributes: {
    startingCash: "3874.9032134",
    endingCash: "4083.3332134",
    fxTranslationGainLoss: "0",
  },
};

Deno.test("the BASE_SUMMARY stands as a currency's books only when every row is at fxRateToBase 1 and nothing was translated", () => {
  assert.deepEqual(baseSummaryAsCurrency(BASE, "USD", true), {
    currency: "USD",
    attributes: BASE.attributes,
  });
  assert.equal(baseSummaryAsCurrency(BASE, "USD", false), null, "a row converted at another rate");
  const translated = { ...BASE, attributes: { ...BASE.attributes, fxTranslationGainLoss: "-1.2" } };
  assert.equal(baseSummaryAsCurrency(translated, "USD", true), null, "other balances translated");
  const silent = { ...BASE, attributes: { startingCash: "1", endingCash: "2" } };
  assert.equal(baseSummaryAsCurrency(silent, "USD", true), null, "translation not reported");
});
