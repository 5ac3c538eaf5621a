import assert from "node:assert/strict";
import { sameAccount } from "../../src/books/cash_report.ts";

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
