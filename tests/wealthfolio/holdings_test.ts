import assert from "node:assert/strict";
import { EXIT } from "../../src/cli/exit_codes.ts";
import { classify } from "../../src/cli/failure.ts";
import { WealthfolioClient } from "../../src/wealthfolio/client.ts";
import { WealthfolioAccountError, WealthfolioProtocolError } from "../../src/wealthfolio/errors.ts";
import { AccountHoldings, parseHoldings } from "../../src/wealthfolio/holdings.ts";
import { startWealthfolioStandIn, type WealthfolioStandIn } from "../standins/wealthfolio.ts";
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

Deno.test("a holdings answer that is not a list of holdings is Wealthfolio answering outside its contract (exit 24), naming the item", () => {
  const refuse = (text: string, pattern: RegExp) =>
    assert.throws(() => parseHoldings(text, "GET /holdings"), (e: unknown) => {
      assert.ok(e instanceof WealthfolioProtocolError);
      assert.match(e.message, pattern);
      assert.equal(classify(e).code, EXIT.WF_PROTOCOL);
      return true;
    });
  refuse("<html>", /^Wealthfolio GET \/holdings: holdings response is not JSON/);
  refuse(`{"code":401}`, /is not a list/);
  refuse(`[{"holdingType":"cash","quantity":"12"}]`, /item 0 has no numeric quantity/);
  refuse(`[{"holdingType":"cash","quantity":1},{"quantity":1}]`, /item 1 has no holdingType/);
});

const PASSWORD = "pw-holdings";

async function withAccount(
  work: (wf: WealthfolioStandIn, accountId: string) => Promise<void>,
): Promise<void> {
  const wf = await startWealthfolioStandIn({ password: PASSWORD, recalcLagMs: 0 });
  try {
    const account = wf.addAccount({ name: "IBKR", currency: "GBP", trackingMode: "TRANSACTIONS" });
    const token = await wealthfolioLogin(wf.baseUrl, PASSWORD);
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
    await work(wf, account.id);
  } finally {
    await wf.close();
  }
}

function client(baseUrl: string, password: string | null = PASSWORD): WealthfolioClient {
  return new WealthfolioClient({
    baseUrl,
    password,
    sessionFile: null,
    persistSession: false,
    retry: { attempts: 2, baseDelayMs: 0, maxDelayMs: 0, maxRetryAfterMs: 0 },
  });
}

Deno.test("the Wealthfolio client reads an account's recalculated holdings with its own login", async () => {
  await withAccount(async (wf, accountId) => {
    const holdings = await client(wf.baseUrl).holdings(accountId);
    const byType = Object.fromEntries(holdings.map((h) => [h.holdingType, h]));
    assert.deepEqual(
      [byType.security.symbol, byType.security.exchangeMic, byType.security.quantity.toFixed()],
      ["VUAG", "XLON", "25.1234"],
    );
    // 5000 − 25.1234 × 92.1425 − 3, read as the decimal the server wrote.
    assert.equal(byType.cash.quantity.toFixed(), "2682.0671155");
    assert.equal(byType.cash.currency, "GBP");
    assert.deepEqual(
      wf.requests.filter((r) => r.path.startsWith("/api/v1/holdings") || r.path.includes("auth"))
        .map((r) => `${r.method} ${r.path} ${r.status}`),
      [
        "POST /api/v1/auth/login 200",
        "GET /api/v1/auth/status 200",
        "POST /api/v1/auth/login 200",
        "GET /api/v1/holdings 200",
      ],
    );
  });
});

Deno.test("holdings: a refused password is exit 21 and an unreachable Wealthfolio exit 20", async () => {
  await withAccount(async (wf, accountId) => {
    const refused = await client(wf.baseUrl, "not-the-password").holdings(accountId).then(
      () => assert.fail("expected a refusal"),
      (e: unknown) => e,
    );
    assert.equal(classify(refused).code, EXIT.WF_AUTH);
    assert.match(classify(refused).message, /refused the password in WF_PASSWORD/);
  });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const error = await client(`http://127.0.0.1:${port}`).holdings("a").then(
    () => assert.fail("expected a failure"),
    (e: unknown) => e,
  );
  assert.equal(classify(error).code, EXIT.WF_UNAVAILABLE);
});

Deno.test("AccountHoldings refuses an account Wealthfolio does not have (exit 22) instead of reading it as holding nothing", async () => {
  await withAccount(async (wf, accountId) => {
    const source = new AccountHoldings(client(wf.baseUrl), (id) => `IBKR_ACCOUNTS (for ${id})`);
    const error = await source.holdings("no-such-account").then(
      () => assert.fail("expected a refusal"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof WealthfolioAccountError);
    assert.match(
      error.message,
      /has no account no-such-account, named by IBKR_ACCOUNTS \(for no-such-account\); its accounts are /,
    );
    assert.equal(classify(error).code, EXIT.WF_ACCOUNT);
    assert.deepEqual(wf.requests.filter((r) => r.path === "/api/v1/holdings"), []);

    // A known account is read, and the accounts are listed once however often it is read.
    assert.equal((await source.holdings(accountId)).length, 2);
    assert.equal((await source.holdings(accountId)).length, 2);
    assert.equal(wf.requests.filter((r) => r.path === "/api/v1/accounts").length, 1);
  });
});
