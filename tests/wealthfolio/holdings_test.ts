import assert from "node:assert/strict";
import {
  HoldingsReadError,
  HttpHoldingsSource,
  parseHoldings,
} from "../../src/wealthfolio/holdings.ts";
import { startWealthfolioStandIn } from "../standins/wealthfolio.ts";
import { wealthfolioCall, wealthfolioLogin } from "../support/wealthfolio_seed.ts";

Deno.test("quantities are read from their JSON text: exact decimals, never floats", () => {
  const [a, b] = parseHoldings(
    `[{"id":"SEC-x-1","holdingType":"security","instrument":{"id":"u1","symbol":"VUAG","exchangeMic":"XLON"},
       "quantity":0.1000000000000000055511151231257827,"localCurrency":"GBP","weight":0.5},
      {"id":"CASH-x-USD","holdingType":"cash","instrument":{"id":"cash:USD","symbol":"USD","exchangeMic":null},
       "quantity":-1271.9017,"localCurrency":"USD"}]`,
    "test",
  );
  assert.equal(a.quantity.toFixed(), "0.1000000000000000055511151231257827");
  assert.deepEqual([a.symbol, a.exchangeMic, a.instrumentId, a.holdingType], [
    "VUAG",
    "XLON",
    "u1",
    "security",
  ]);
  assert.equal(b.quantity.toFixed(), "-1271.9017");
  assert.deepEqual([b.currency, b.exchangeMic], ["USD", null]);
});

Deno.test("a holdings answer that is not a list of holdings is a HoldingsReadError naming the item", () => {
  const refuse = (text: string, pattern: RegExp) =>
    assert.throws(() => parseHoldings(text, "GET /holdings"), (e: unknown) => {
      assert.ok(e instanceof HoldingsReadError);
      assert.match(e.message, pattern);
      return true;
    });
  refuse("<html>", /GET \/holdings: holdings response is not JSON/);
  refuse(`{"code":401}`, /is not a list/);
  refuse(`[{"holdingType":"cash","quantity":"12"}]`, /item 0 has no numeric quantity/);
  refuse(`[{"holdingType":"cash","quantity":1},{"quantity":1}]`, /item 1 has no holdingType/);
});

Deno.test("HttpHoldingsSource reads the stand-in's recalculated holdings with the session it is given", async () => {
  const wf = await startWealthfolioStandIn({ password: "pw-holdings", recalcLagMs: 0 });
  try {
    const account = wf.addAccount({ name: "IBKR", currency: "GBP", trackingMode: "TRANSACTIONS" });
    const token = await wealthfolioLogin(wf.baseUrl, "pw-holdings");
    await wealthfolioCall(wf.baseUrl, token, "POST", "/activities/bulk", {
      creates: [
        {
          accountId: account.id,
          activityType: "DEPOSIT",
          activityDate: "2025-01-06T00:00:00Z",
          amount: "5000",
          currency: "GBP",
        },
        {
          accountId: account.id,
          activityType: "BUY",
          activityDate: "2025-02-03T08:05:12Z",
          symbol: { symbol: "VUAG.L", exchangeMic: "XLON", quoteCcy: "GBP" },
          quantity: "25.1234",
          unitPrice: "92.1425",
          fee: "3",
          currency: "GBP",
        },
      ],
    });
    const holdings = await new HttpHoldingsSource({
      baseUrl: wf.baseUrl,
      bearer: () => Promise.resolve(token),
    }).holdings(account.id);
    const byType = Object.fromEntries(holdings.map((h) => [h.holdingType, h]));
    assert.deepEqual(
      [byType.security.symbol, byType.security.exchangeMic, byType.security.quantity.toFixed()],
      ["VUAG", "XLON", "25.1234"],
    );
    // 5000 − 25.1234 × 92.1425 − 3, read as the decimal the server wrote.
    assert.equal(byType.cash.quantity.toFixed(), "2682.0671155");
    assert.equal(byType.cash.currency, "GBP");

    await assert.rejects(
      new HttpHoldingsSource({ baseUrl: wf.baseUrl }).holdings(account.id),
      (e: unknown) => {
        assert.ok(e instanceof HoldingsReadError);
        assert.equal(e.status, 401);
        assert.match(e.message, /^Wealthfolio GET \/api\/v1\/holdings\?accountId=.*: HTTP 401/);
        assert.doesNotMatch(e.message, new RegExp(token));
        return true;
      },
    );
  } finally {
    await wf.close();
  }
});

Deno.test("HttpHoldingsSource: an unreachable Wealthfolio is a HoldingsReadError", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await assert.rejects(
    new HttpHoldingsSource({ baseUrl: `http://127.0.0.1:${port}` }).holdings("a"),
    (e: unknown) => e instanceof HoldingsReadError && /unreachable/.test(e.message),
  );
});
