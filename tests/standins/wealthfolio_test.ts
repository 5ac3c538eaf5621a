import assert from "node:assert/strict";
import {
  type Holding,
  startWealthfolioStandIn,
  type WealthfolioStandIn,
  type WealthfolioStandInOptions,
} from "./wealthfolio.ts";

// ---- helpers ---------------------------------------------------------------------------------

interface Res {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

async function call(
  wf: WealthfolioStandIn,
  method: string,
  path: string,
  opts: { body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<Res> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  let body: string | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers["content-type"] ??= "application/json";
  }
  const r = await fetch(`${wf.baseUrl}/api/v1${path}`, { method, headers, body });
  const text = await r.text();
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch { /* not JSON */ }
  return { status: r.status, headers: r.headers, text, json };
}

// deno-lint-ignore no-explicit-any
type Any = any;

async function withWf(
  options: WealthfolioStandInOptions,
  fn: (wf: WealthfolioStandIn) => Promise<void>,
): Promise<void> {
  const wf = await startWealthfolioStandIn({ recalcLagMs: 0, ...options });
  try {
    await fn(wf);
  } finally {
    await wf.close();
  }
}

function sessionCookie(r: Res): string {
  const c = r.headers.getSetCookie().find((x) => x.startsWith("wf_session="));
  assert.ok(c, "expected a wf_session Set-Cookie");
  return c.split(";")[0].slice("wf_session=".length);
}

function buy(accountId: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    accountId,
    activityType: "BUY",
    activityDate: "2025-01-15T14:32:00Z",
    symbol: {
      symbol: "VUAG",
      exchangeMic: "XLON",
      instrumentType: "EQUITY",
      quoteCcy: "GBP",
      name: "Vanguard S&P 500",
    },
    quantity: "10",
    unitPrice: "85.12",
    fee: "3.00",
    currency: "GBP",
    ...over,
  };
}

function cashAct(
  accountId: string,
  activityType: string,
  amount: string,
  over: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    accountId,
    activityType,
    activityDate: "2025-01-10",
    amount,
    currency: "GBP",
    ...over,
  };
}

function qty(hs: Holding[], symbol: string): number | undefined {
  return hs.find((h) => h.holdingType === "security" && h.instrument.symbol === symbol)?.quantity;
}

function cash(hs: Holding[], ccy: string): number | undefined {
  return hs.find((h) => h.holdingType === "cash" && h.instrument.symbol === ccy)?.quantity;
}

const PW = "s3cret";

// ---- auth ------------------------------------------------------------------------------------

Deno.test("auth off: status says no password, login 404, routes open", async () => {
  await withWf({}, async (wf) => {
    assert.deepEqual((await call(wf, "GET", "/auth/status")).json, { requiresPassword: false });
    const login = await call(wf, "POST", "/auth/login", { body: { password: "x" } });
    assert.equal(login.status, 404);
    assert.deepEqual(login.json, {
      code: 404,
      message: "Authentication is not configured for this server",
    });
    assert.equal((await call(wf, "GET", "/accounts")).status, 200);
    assert.equal((await call(wf, "GET", "/healthz")).text, "ok");
  });
});

Deno.test("cookie login: Set-Cookie shape, cookie and bearer accepted, 401 JSON otherwise", async () => {
  await withWf({ password: PW, tokenTtlSeconds: 600 }, async (wf) => {
    assert.deepEqual((await call(wf, "GET", "/auth/status")).json, { requiresPassword: true });
    const bad = await call(wf, "POST", "/auth/login", { body: { password: "nope" } });
    assert.equal(bad.status, 401);
    assert.deepEqual(bad.json, { code: 401, message: "Invalid password" });

    const ok = await call(wf, "POST", "/auth/login", { body: { password: PW } });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json, { authenticated: true, expiresIn: 600 });
    const setCookie = ok.headers.getSetCookie()[0];
    assert.match(
      setCookie,
      /^wf_session=[\w-]+\.[\w-]+\.[\w-]+; HttpOnly; SameSite=Lax; Path=\/api; Max-Age=600$/,
    );
    const token = sessionCookie(ok);
    const header = JSON.parse(atob(token.split(".")[0].replace(/-/g, "+").replace(/_/g, "/")));
    assert.equal(header.alg, "HS256");

    const none = await call(wf, "GET", "/accounts");
    assert.equal(none.status, 401);
    assert.deepEqual(none.json, { code: 401, message: "Unauthorized" });
    assert.equal(
      (await call(wf, "GET", "/accounts", { headers: { cookie: `wf_session=${token}` } })).status,
      200,
    );
    assert.equal(
      (await call(wf, "GET", "/accounts", { headers: { authorization: `Bearer ${token}` } }))
        .status,
      200,
    );
    // Authorization present wins over a valid cookie.
    for (const authorization of ["Basic abc", "Bearer not.a.jwt", `bearer ${token}`]) {
      const r = await call(wf, "GET", "/accounts", {
        headers: { authorization, cookie: `wf_session=${token}` },
      });
      assert.equal(r.status, 401, authorization);
    }
    // A token from another instance (another key) is rejected.
    await withWf({ password: PW }, async (other) => {
      const t2 = sessionCookie(
        await call(other, "POST", "/auth/login", { body: { password: PW } }),
      );
      const r = await call(wf, "GET", "/accounts", { headers: { authorization: `Bearer ${t2}` } });
      assert.equal(r.status, 401);
    });
    assert.deepEqual(
      (await call(wf, "GET", "/auth/me", { headers: { cookie: `wf_session=${token}` } })).json,
      { authenticated: true },
    );
    assert.equal((await call(wf, "GET", "/auth/me")).status, 401);
    const out = await call(wf, "POST", "/auth/logout");
    assert.equal(out.status, 204);
    assert.match(out.headers.getSetCookie()[0], /^wf_session=; .*Max-Age=0/);
    // Public routes stay public.
    assert.equal((await call(wf, "GET", "/readyz")).status, 200);
    // Secure behind an https proxy.
    const secure = await call(wf, "POST", "/auth/login", {
      body: { password: PW },
      headers: { "x-forwarded-proto": "https" },
    });
    assert.match(secure.headers.getSetCookie()[0], /; Secure$/);
  });
});

Deno.test("3.0 body-style login: accessToken in body, no cookie, bearer only", async () => {
  await withWf({ password: PW, loginStyle: "body" }, async (wf) => {
    const r = await call(wf, "POST", "/auth/login", { body: { password: PW } });
    assert.equal(r.status, 200);
    const body = r.json as Any;
    assert.equal(body.tokenType, "Bearer");
    assert.equal(body.expiresIn, 3600);
    assert.equal(typeof body.accessToken, "string");
    assert.deepEqual(r.headers.getSetCookie(), []);
    const auth = { authorization: `Bearer ${body.accessToken}` };
    assert.equal((await call(wf, "GET", "/accounts", { headers: auth })).status, 200);
    const cookie = { cookie: `wf_session=${body.accessToken}` };
    assert.equal((await call(wf, "GET", "/accounts", { headers: cookie })).status, 401);
  });
});

Deno.test("TTL expiry and sliding refresh follow the injected clock", async () => {
  let now = Date.UTC(2025, 0, 1);
  await withWf({ password: PW, tokenTtlSeconds: 100, clock: () => now }, async (wf) => {
    const token = sessionCookie(await call(wf, "POST", "/auth/login", { body: { password: PW } }));
    const h = { authorization: `Bearer ${token}` };
    now += 50_000; // exactly TTL/2: no refresh yet
    let r = await call(wf, "GET", "/accounts", { headers: h });
    assert.equal(r.status, 200);
    assert.deepEqual(r.headers.getSetCookie(), []);
    now += 1_000; // past TTL/2: refresh cookie, old token still valid
    r = await call(wf, "GET", "/accounts", { headers: h });
    assert.equal(r.status, 200);
    const fresh = sessionCookie(r);
    assert.notEqual(fresh, token);
    assert.match(r.headers.getSetCookie()[0], /Max-Age=100/);
    now += 49_000; // old token's exp reached
    assert.equal((await call(wf, "GET", "/accounts", { headers: h })).status, 401);
    r = await call(wf, "GET", "/accounts", { headers: { cookie: `wf_session=${fresh}` } });
    assert.equal(r.status, 200);
    now += 60_000;
    r = await call(wf, "GET", "/accounts", { headers: { cookie: `wf_session=${fresh}` } });
    assert.equal(r.status, 401);
  });
});

Deno.test("login is rate-limited per peer: burst then 429, refilled over time", async () => {
  let now = 1_700_000_000_000;
  await withWf({ password: PW, clock: () => now }, async (wf) => {
    for (let i = 0; i < 5; i++) {
      const r = await call(wf, "POST", "/auth/login", { body: { password: i ? PW : "bad" } });
      assert.equal(r.status, i ? 200 : 401);
    }
    const limited = await call(wf, "POST", "/auth/login", { body: { password: PW } });
    assert.equal(limited.status, 429);
    assert.match(limited.text, /^Too Many Requests! Wait for \d+s$/);
    assert.equal(limited.headers.get("retry-after"), "12");
    now += 12_000;
    assert.equal((await call(wf, "POST", "/auth/login", { body: { password: PW } })).status, 200);
    assert.equal((await call(wf, "POST", "/auth/login", { body: { password: PW } })).status, 429);
  });
});

// ---- generic behaviour -----------------------------------------------------------------------

Deno.test("extractor rejections: 415, 400, 422 plain text; 413 over the limit; 400 JSON not found", async () => {
  await withWf({ bodyLimitBytes: 1024 }, async (wf) => {
    const acct = { name: "A", accountType: "SECURITIES", currency: "GBP", isActive: true };
    const noCt = await call(wf, "POST", "/accounts", { raw: JSON.stringify(acct) });
    assert.equal(noCt.status, 415);
    assert.equal(noCt.text, "Expected request with `Content-Type: application/json`");

    const malformed = await call(wf, "POST", "/accounts", {
      raw: "{not json",
      headers: { "content-type": "application/json" },
    });
    assert.equal(malformed.status, 400);
    assert.match(malformed.text, /^Failed to parse the request body as JSON: /);
    assert.equal(malformed.json, undefined);

    const missing = await call(wf, "POST", "/accounts", { body: acct });
    assert.equal(missing.status, 422);
    assert.equal(
      missing.text,
      "Failed to deserialize the JSON body into the target type: missing field `isDefault`",
    );
    const mistyped = await call(wf, "POST", "/accounts", {
      body: { ...acct, isDefault: "no" },
    });
    assert.equal(mistyped.status, 422);
    assert.match(mistyped.text, /isDefault: invalid type: string "no", expected a boolean$/);

    const nested = await call(wf, "POST", "/activities/bulk", {
      body: { creates: [{ accountId: "x", activityType: "BUY", activityDate: "2025-01-01" }] },
    });
    assert.equal(nested.status, 422);
    assert.match(nested.text, /creates\[0\]: missing field `currency`$/);

    const big = await call(wf, "POST", "/accounts", {
      body: { ...acct, isDefault: false, name: "x".repeat(2000) },
    });
    assert.equal(big.status, 413);
    assert.match(big.text, /length limit exceeded/);

    const gone = await call(wf, "DELETE", "/activities/does-not-exist");
    assert.equal(gone.status, 400);
    assert.deepEqual(gone.json, {
      code: 400,
      message: "Database operation failed: Record not found: Record not found",
    });
    assert.equal((await call(wf, "GET", "/nope")).status, 404);
    assert.equal((await call(wf, "PATCH", "/accounts")).status, 405);
    const noPage = await call(wf, "POST", "/activities/search", { body: { page: 0 } });
    assert.equal(noPage.status, 422);
    assert.match(noPage.text, /missing field `pageSize`/);
  });
});

// ---- accounts --------------------------------------------------------------------------------

Deno.test("accounts: create, list (archived hidden), update, delete cascades", async () => {
  await withWf({}, async (wf) => {
    const created = await call(wf, "POST", "/accounts", {
      body: {
        name: "IBKR GIA",
        accountType: "SECURITIES",
        currency: "GBP",
        isDefault: false,
        isActive: true,
        trackingMode: "TRANSACTIONS",
      },
    });
    assert.equal(created.status, 200);
    const a = created.json as Any;
    assert.equal(a.trackingMode, "TRANSACTIONS");
    assert.equal(a.isArchived, false);
    assert.match(a.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    const arch = wf.addAccount({ name: "Old", currency: "USD", isArchived: true });
    assert.equal(arch.trackingMode, "NOT_SET");
    assert.equal(((await call(wf, "GET", "/accounts")).json as Any[]).length, 1);
    assert.equal(
      ((await call(wf, "GET", "/accounts?includeArchived=true")).json as Any[]).length,
      2,
    );
    const badMode = await call(wf, "POST", "/accounts", {
      body: {
        name: "X",
        accountType: "SECURITIES",
        currency: "GBP",
        isDefault: false,
        isActive: true,
        trackingMode: "FOO",
      },
    });
    assert.equal(badMode.status, 422);
    const upd = await call(wf, "PUT", `/accounts/${a.id}`, {
      body: { name: "Renamed", accountType: "SECURITIES", isDefault: true, isActive: true },
    });
    assert.equal((upd.json as Any).name, "Renamed");
    assert.equal((upd.json as Any).trackingMode, "TRANSACTIONS");
    await call(wf, "POST", "/activities", { body: cashAct(a.id, "DEPOSIT", "100") });
    assert.equal(wf.state.activities.length, 1);
    assert.equal((await call(wf, "DELETE", `/accounts/${a.id}`)).status, 204);
    assert.equal(wf.state.activities.length, 0);
    assert.equal((await call(wf, "DELETE", `/accounts/${a.id}`)).status, 400);
  });
});

// ---- assets ----------------------------------------------------------------------------------

Deno.test("assets: POST idempotent per instrumentKey, quoteCcy required, GBP kept", async () => {
  await withWf({}, async (wf) => {
    const ui = {
      kind: "INVESTMENT",
      name: "Vanguard S&P 500",
      displayCode: "VUAG",
      isActive: true,
      quoteMode: "MARKET",
      quoteCcy: "GBP",
      instrumentType: "EQUITY",
      instrumentSymbol: "VUAG",
      instrumentExchangeMic: "XLON",
    };
    const first = (await call(wf, "POST", "/assets", { body: ui })).json as Any;
    assert.equal(first.instrumentKey, "EQUITY:VUAG@XLON");
    assert.equal(first.quoteCcy, "GBP");
    const again = (await call(wf, "POST", "/assets", { body: { ...ui, quoteCcy: "GBp" } }))
      .json as Any;
    assert.equal(again.id, first.id);
    assert.equal(((await call(wf, "GET", "/assets")).json as Any[]).length, 1);
    const { quoteCcy: _q, ...noCcy } = ui;
    assert.equal((await call(wf, "POST", "/assets", { body: noCcy })).status, 422);
    const empty = await call(wf, "POST", "/assets", { body: { ...ui, quoteCcy: " " } });
    assert.equal(empty.status, 400);
    assert.equal((empty.json as Any).code, 400);

    // An activity naming the same instrument reuses the asset, whatever quoteCcy it sends.
    const acct = wf.addAccount({ name: "A", currency: "GBP", trackingMode: "TRANSACTIONS" });
    const act = (await call(wf, "POST", "/activities", {
      body: buy(acct.id, { symbol: { symbol: "VUAG.L" } }),
    })).json as Any;
    assert.equal(act.assetId, first.id);
  });
});

Deno.test("activity path: XLON equity without quoteCcy gets GBp, explicit GBP stays GBP", async () => {
  await withWf({}, async (wf) => {
    const acct = wf.addAccount({ name: "A", currency: "GBP" });
    const r1 = await call(wf, "POST", "/activities", {
      body: buy(acct.id, { symbol: { symbol: "VOD.L" } }),
    });
    assert.equal(r1.status, 200);
    const r2 = await call(wf, "POST", "/activities", {
      body: buy(acct.id, { symbol: { symbol: "HSBA.L", quoteCcy: "GBP" } }),
    });
    assert.equal(r2.status, 200);
    const r3 = await call(wf, "POST", "/activities", {
      body: buy(acct.id, { symbol: { symbol: "SAP", exchangeMic: "XETR" } }),
    });
    assert.equal(r3.status, 200);
    const bySym = Object.fromEntries(wf.state.assets.map((a) => [a.instrumentSymbol, a]));
    assert.equal(bySym.VOD.quoteCcy, "GBp");
    assert.equal(bySym.VOD.instrumentExchangeMic, "XLON");
    assert.equal(bySym.VOD.instrumentKey, "EQUITY:VOD@XLON");
    assert.equal(bySym.HSBA.quoteCcy, "GBP");
    assert.equal(bySym.SAP.quoteCcy, "EUR");
    for (
      const [sym, mic] of [
        ["RY.TO", "XTSE"],
        ["BMW.DE", "XETR"],
        ["ASML.AS", "XAMS"],
        [
          "MC.PA",
          "XPAR",
        ],
        ["NESN.SW", "XSWX"],
        ["SIE.F", "XFRA"],
        ["ENI.MI", "XMIL"],
      ]
    ) {
      const r = await call(wf, "POST", "/activities", {
        body: buy(acct.id, { symbol: { symbol: sym } }),
      });
      assert.equal(r.status, 200, sym);
      const asset = wf.state.assets.find((a) => a.id === (r.json as Any).assetId)!;
      assert.equal(asset.instrumentExchangeMic, mic);
      assert.equal(asset.instrumentSymbol, sym.split(".")[0]);
    }
    // No MIC and no quoteCcy: a new MARKET security is refused.
    const r4 = await call(wf, "POST", "/activities", {
      body: buy(acct.id, { symbol: { symbol: "AAPL" } }),
    });
    assert.equal(r4.status, 400);
    assert.deepEqual(r4.json, {
      code: 400,
      message:
        "Activity error: Invalid data: Quote currency is required. Please re-select the symbol.",
    });
    // MANUAL mode is exempt.
    const r5 = await call(wf, "POST", "/activities", {
      body: buy(acct.id, { symbol: { symbol: "PRIVATECO", quoteMode: "MANUAL" } }),
    });
    assert.equal(r5.status, 200);
  });
});

// ---- activities ------------------------------------------------------------------------------

Deno.test("POST /activities stores normalised values and rejects duplicates with 400", async () => {
  await withWf({}, async (wf) => {
    const acct = wf.addAccount({ name: "A", currency: "GBP" });
    const r = await call(wf, "POST", "/activities", {
      body: buy(acct.id, {
        quantity: -10,
        unitPrice: "-85.120",
        fee: "3.00",
        notes: "ibkr  trade\n123",
        metadata: JSON.stringify({ flow: { is_external: true } }),
        sourceSystem: "IBKR_FLEX",
        sourceRecordId: "U1:TRADE:1",
        idempotencyKey: "ibkr:U1:trade:1",
      }),
    });
    assert.equal(r.status, 200);
    const a = r.json as Any;
    assert.equal(a.quantity, "10");
    assert.equal(a.unitPrice, "85.120");
    assert.equal(a.fee, "3.00");
    assert.equal(a.activityDate, "2025-01-15T14:32:00+00:00");
    assert.equal(a.status, "POSTED");
    assert.deepEqual(a.metadata, { flow: { is_external: true } });
    assert.equal(a.idempotencyKey, "ibkr:U1:trade:1");
    assert.equal(a.sourceSystem, "IBKR_FLEX");
    assert.equal("settlementDate" in a, false);

    const dup = await call(wf, "POST", "/activities", {
      body: buy(acct.id, { idempotencyKey: "ibkr:U1:trade:1", quantity: "1" }),
    });
    assert.equal(dup.status, 400);
    assert.deepEqual(dup.json, {
      code: 400,
      message:
        `Activity error: Invalid data: Duplicate activity detected. A matching activity already exists (id: ${a.id}).`,
    });

    // metadata must be a JSON string.
    const meta = await call(wf, "POST", "/activities", {
      body: buy(acct.id, { metadata: { flow: {} } }),
    });
    assert.equal(meta.status, 422);

    // Content key: no idempotencyKey → SHA-256 over normalised content.
    const c1 = (await call(wf, "POST", "/activities", {
      body: cashAct(acct.id, "DEPOSIT", "100.00", { notes: "top  up" }),
    })).json as Any;
    assert.match(c1.idempotencyKey, /^[0-9a-f]{64}$/);
    assert.equal(c1.assetId, null);
    assert.equal(c1.sourceSystem, "MANUAL");
    const c2 = await call(wf, "POST", "/activities", {
      body: cashAct(acct.id, "DEPOSIT", "-100", {
        notes: " top up ",
        activityDate: "2025-01-10T23:00:00Z",
      }),
    });
    assert.equal(c2.status, 400);
    assert.match((c2.json as Any).message, new RegExp(`\\(id: ${c1.id}\\)\\.$`));
    const c3 = await call(wf, "POST", "/activities", {
      body: cashAct(acct.id, "DEPOSIT", "100", { notes: "top up", sourceRecordId: "other" }),
    });
    assert.equal(c3.status, 200);
  });
});

Deno.test("GBp/GBX amounts become GBP ÷100; securities TRANSFER with price clears amount", async () => {
  await withWf({}, async (wf) => {
    const acct = wf.addAccount({ name: "A", currency: "GBP" });
    const a = (await call(wf, "POST", "/activities", {
      body: buy(acct.id, { currency: "GBp", unitPrice: "8512", fee: "300", amount: "85120" }),
    })).json as Any;
    assert.equal(a.currency, "GBP");
    assert.equal(a.unitPrice, "85.12");
    assert.equal(a.fee, "3");
    assert.equal(a.amount, "851.2");
    assert.equal(a.quantity, "10");
    const t = (await call(wf, "POST", "/activities", {
      body: buy(acct.id, {
        activityType: "TRANSFER_IN",
        currency: "GBX",
        unitPrice: "100",
        amount: "1000",
      }),
    })).json as Any;
    assert.equal(t.amount, null);
    assert.equal(t.unitPrice, "1");
    const cashIn = (await call(wf, "POST", "/activities", {
      body: cashAct(acct.id, "TRANSFER_IN", "50"),
    })).json as Any;
    assert.equal(cashIn.amount, "50");
  });
});

Deno.test("bulk is atomic: preparation errors → 200 errors[], nothing written", async () => {
  await withWf({}, async (wf) => {
    const acct = wf.addAccount({ name: "A", currency: "GBP" });
    const r = await call(wf, "POST", "/activities/bulk", {
      body: {
        creates: [
          { ...buy(acct.id), id: "t1" },
          { ...buy(acct.id, { symbol: { symbol: "NEWCO" } }), id: "t2" },
          { ...buy(acct.id, { symbol: undefined }), id: "t3" },
          { ...buy(acct.id, { symbol: { symbol: "----" } }), id: "t4" },
          { ...cashAct(acct.id, "DIVIDEND", "5"), id: "t5" },
          { ...buy(acct.id, { symbol: { symbol: "NEW2.L" } }), id: "t6" },
        ],
        updates: [{
          id: "nope",
          accountId: acct.id,
          activityType: "DEPOSIT",
          activityDate: "2025-01-01",
          currency: "GBP",
        }],
        deleteIds: ["gone"],
      },
    });
    assert.equal(r.status, 200);
    const body = r.json as Any;
    assert.deepEqual(body.created, []);
    assert.deepEqual(body.createdMappings, []);
    assert.deepEqual(
      body.errors.map((e: Any) => [e.id, e.action]),
      [["t2", "create"], ["t3", "create"], ["t4", "create"], ["t5", "create"], [
        "nope",
        "update",
      ], ["gone", "delete"]],
    );
    assert.match(body.errors[0].message, /Quote currency is required/);
    assert.equal(wf.state.activities.length, 0);
    assert.equal(wf.state.assets.length, 0, "staged assets are discarded");

    // Unknown account on creates[0] → plain 400.
    const noAcct = await call(wf, "POST", "/activities/bulk", {
      body: { creates: [buy("missing")] },
    });
    assert.equal(noAcct.status, 400);
    assert.equal((noAcct.json as Any).code, 400);
  });
});

Deno.test("bulk duplicates (DB or in-batch) fail the whole batch with 400", async () => {
  await withWf({}, async (wf) => {
    const acct = wf.addAccount({ name: "A", currency: "GBP" });
    const ok = await call(wf, "POST", "/activities/bulk", {
      body: {
        creates: [
          { ...buy(acct.id, { idempotencyKey: "k1" }), id: "tmp-1" },
          buy(acct.id, { idempotencyKey: "k2", quantity: "5" }),
        ],
      },
    });
    assert.equal(ok.status, 200);
    const okBody = ok.json as Any;
    assert.equal(okBody.created.length, 2);
    assert.deepEqual(okBody.createdMappings[0], {
      tempId: "tmp-1",
      activityId: okBody.created[0].id,
    });
    assert.equal(okBody.createdMappings[1].tempId, null);
    assert.deepEqual(okBody.errors, []);

    const dbDup = await call(wf, "POST", "/activities/bulk", {
      body: {
        creates: [buy(acct.id, { idempotencyKey: "k3" }), buy(acct.id, { idempotencyKey: "k1" })],
      },
    });
    assert.equal(dbDup.status, 400);
    assert.equal(
      (dbDup.json as Any).message,
      `Activity error: Invalid data: Duplicate activity detected. A matching activity already exists (id: ${
        okBody.created[0].id
      }).`,
    );
    const inBatch = await call(wf, "POST", "/activities/bulk", {
      body: {
        creates: [buy(acct.id, { idempotencyKey: "k4" }), buy(acct.id, { idempotencyKey: "k4" })],
      },
    });
    assert.equal(inBatch.status, 400);
    assert.match((inBatch.json as Any).message, /Duplicate activity detected/);
    assert.equal(wf.state.activities.length, 2);
    assert.deepEqual(wf.state.activities.map((a) => a.idempotencyKey).sort(), ["k1", "k2"]);

    // updates and deletes in one batch
    const [first, second] = okBody.created;
    const mixed = await call(wf, "POST", "/activities/bulk", {
      body: {
        updates: [{
          id: first.id,
          accountId: acct.id,
          activityType: "BUY",
          activityDate: "2025-01-16",
          currency: "GBP",
          quantity: "11",
        }],
        deleteIds: [second.id],
      },
    });
    assert.equal(mixed.status, 200);
    const m = mixed.json as Any;
    assert.equal(m.updated[0].quantity, "11");
    assert.equal(m.updated[0].unitPrice, "85.12");
    assert.equal(m.updated[0].idempotencyKey, "k1");
    assert.equal(m.updated[0].assetId, first.assetId);
    assert.equal(m.deleted[0].id, second.id);
    assert.equal(wf.state.activities.length, 1);
  });
});

Deno.test("check-duplicates answers only the keys that exist", async () => {
  await withWf({}, async (wf) => {
    const acct = wf.addAccount({ name: "A", currency: "GBP" });
    const a = (await call(wf, "POST", "/activities", {
      body: buy(acct.id, { idempotencyKey: "ibkr:1" }),
    })).json as Any;
    const r = await call(wf, "POST", "/activities/import/check-duplicates", {
      body: { idempotencyKeys: ["ibkr:1", "ibkr:2"] },
    });
    assert.deepEqual(r.json, { duplicates: { "ibkr:1": a.id } });
    assert.equal(
      (await call(wf, "POST", "/activities/import/check-duplicates", { body: {} })).status,
      422,
    );
  });
});

Deno.test("search: 0-based paging, totalRowCount, filters, sort, archived excluded", async () => {
  await withWf({}, async (wf) => {
    const acct = wf.addAccount({ name: "A", currency: "GBP" });
    const arch = wf.addAccount({ name: "Z", currency: "GBP", isArchived: true });
    const creates = [];
    for (let i = 1; i <= 7; i++) {
      creates.push(cashAct(acct.id, i % 2 ? "DEPOSIT" : "WITHDRAWAL", `${i}.50`, {
        activityDate: `2025-02-0${i}`,
        notes: `row ${i}`,
      }));
    }
    creates.push(buy(acct.id, { activityDate: "2025-03-01" }));
    assert.equal(
      (await call(wf, "POST", "/activities/bulk", { body: { creates } })).status,
      200,
    );
    await call(wf, "POST", "/activities", { body: cashAct(arch.id, "DEPOSIT", "1") });

    const page = async (body: Record<string, unknown>) =>
      (await call(wf, "POST", "/activities/search", { body })).json as Any;
    const p0 = await page({ page: 0, pageSize: 3 });
    assert.equal(p0.meta.totalRowCount, 8);
    assert.equal(p0.data.length, 3);
    assert.equal(p0.data[0].date, "2025-03-01T00:00:00+00:00");
    assert.equal(p0.data[0].assetSymbol, "VUAG");
    assert.equal(p0.data[0].amount, "851.20");
    assert.equal(p0.data[0].quantity, "10");
    assert.equal(typeof p0.data[1].amount, "string");
    assert.equal(p0.data[1].assetId, "");
    const p2 = await page({ page: 2, pageSize: 3 });
    assert.equal(p2.data.length, 2);
    const seen = new Set<string>();
    for (let p = 0; p < 3; p++) {
      for (const d of (await page({ page: p, pageSize: 3 })).data) seen.add(d.id);
    }
    assert.equal(seen.size, 8);

    const deposits = await page({ page: 0, pageSize: 50, activityTypeFilter: ["DEPOSIT"] });
    assert.equal(deposits.meta.totalRowCount, 4);
    const ranged = await page({
      page: 0,
      pageSize: 50,
      dateFrom: "2025-02-02",
      dateTo: "2025-02-04",
      sort: { id: "date", desc: false },
    });
    assert.deepEqual(ranged.data.map((d: Any) => d.comment), ["row 2", "row 3", "row 4"]);
    const kw = await page({ page: 0, pageSize: 50, assetIdKeyword: "ROW 7" });
    assert.equal(kw.meta.totalRowCount, 1);
    const byAcct = await page({ page: 0, pageSize: 50, accountIdFilter: arch.id });
    assert.equal(byAcct.meta.totalRowCount, 0);
  });
});

Deno.test("cash symbol rule: $CASH-GBP becomes a crypto asset, $CASH_GBP needs a quoteCcy", async () => {
  await withWf({}, async (wf) => {
    const acct = wf.addAccount({ name: "A", currency: "GBP", trackingMode: "TRANSACTIONS" });
    const r = await call(wf, "POST", "/activities", {
      body: cashAct(acct.id, "TRANSFER_IN", "100", { symbol: { symbol: "$CASH-GBP" } }),
    });
    assert.equal(r.status, 200);
    const a = r.json as Any;
    assert.notEqual(a.assetId, null);
    const asset = wf.state.assets.find((x) => x.id === a.assetId)!;
    assert.equal(asset.instrumentType, "CRYPTO");
    assert.equal(asset.quoteCcy, "GBP");
    // …so the "cash" transfer is a security transfer: no cash appears.
    assert.equal(cash(wf.holdings(acct.id), "GBP"), undefined);

    const bad = await call(wf, "POST", "/activities/bulk", {
      body: { creates: [cashAct(acct.id, "DEPOSIT", "5", { symbol: { symbol: "$CASH_GBP" } })] },
    });
    assert.equal(bad.status, 200);
    assert.match((bad.json as Any).errors[0].message, /Quote currency is required/);
    const garbage = await call(wf, "POST", "/activities", {
      body: cashAct(acct.id, "DEPOSIT", "5", { symbol: { symbol: "$FOO" } }),
    });
    assert.equal(garbage.status, 400);
    // No symbol: a plain cash activity.
    const plain = (await call(wf, "POST", "/activities", {
      body: cashAct(acct.id, "DEPOSIT", "5"),
    })).json as Any;
    assert.equal(plain.assetId, null);
    assert.equal(cash(wf.holdings(acct.id), "GBP"), 5);
  });
});

// ---- holdings --------------------------------------------------------------------------------

Deno.test("holdings lag behind writes, then reflect them as JSON numbers", async () => {
  let now = Date.UTC(2025, 5, 1);
  await withWf({ recalcLagMs: 1000, clock: () => now }, async (wf) => {
    const acct = wf.addAccount({ name: "A", currency: "GBP", trackingMode: "TRANSACTIONS" });
    const creates = [
      cashAct(acct.id, "DEPOSIT", "1000.00", { fee: "1" }),
      buy(acct.id),
      buy(acct.id, { activityType: "SELL", quantity: "4", unitPrice: "90", fee: "1" }),
      cashAct(acct.id, "DIVIDEND", "2.5", {
        symbol: { symbol: "VUAG", exchangeMic: "XLON", quoteCcy: "GBP" },
      }),
      cashAct(acct.id, "WITHDRAWAL", "100"),
      cashAct(acct.id, "FEE", "0.5"),
      cashAct(acct.id, "TAX", "0.25"),
      cashAct(acct.id, "CREDIT", "10", { subtype: "BONUS" }),
      cashAct(acct.id, "INTEREST", "0.75", { currency: "USD" }),
      cashAct(acct.id, "DEPOSIT", "999", { status: "DRAFT" }),
      buy(acct.id, {
        activityType: "SPLIT",
        quantity: null,
        unitPrice: null,
        fee: null,
        amount: "2",
        activityDate: "2025-02-01",
      }),
      buy(acct.id, {
        symbol: { symbol: "ZERO.L", quoteCcy: "GBP" },
        quantity: "1",
        unitPrice: "1",
        fee: "0",
      }),
      buy(acct.id, {
        activityType: "SELL",
        symbol: { symbol: "ZERO.L" },
        quantity: "1",
        unitPrice: "1",
        fee: "0",
      }),
    ];
    const res = await call(wf, "POST", "/activities/bulk", { body: { creates } });
    assert.equal(res.status, 200, res.text);
    const get = async () =>
      (await call(wf, "GET", `/holdings?accountId=${acct.id}`)).json as Holding[];
    assert.deepEqual(await get(), [], "nothing before the lag");
    now += 999;
    assert.deepEqual(await get(), []);
    now += 1;
    const hs = await get();
    assert.equal(qty(hs, "VUAG"), 12);
    assert.equal(qty(hs, "ZERO"), undefined, "zero positions are omitted");
    const sec = hs.find((h) => h.holdingType === "security")!;
    assert.equal(typeof sec.quantity, "number");
    assert.equal(sec.instrument.exchangeMic, "XLON");
    assert.equal(sec.instrument.id, wf.state.assets.find((a) => a.displayCode === "VUAG")!.id);
    // 1000 − 1 − 854.2 + 359 + 2.5 − 100 − 0.5 − 0.25 + 10 = 415.55
    assert.equal(cash(hs, "GBP"), 415.55);
    assert.equal(cash(hs, "USD"), 0.75);
    const gbp = hs.find((h) => h.holdingType === "cash" && h.localCurrency === "GBP")!;
    assert.equal(gbp.instrument.symbol, "GBP");
    assert.equal(gbp.price, 1);

    // A later write: the previous snapshot is served until the lag has passed again.
    await call(wf, "POST", "/activities", { body: cashAct(acct.id, "DEPOSIT", "1") });
    assert.equal(cash(await get(), "GBP"), 415.55);
    now += 1000;
    assert.equal(cash(await get(), "GBP"), 416.55);
    assert.equal(cash(wf.holdings("TOTAL"), "GBP"), 416.55);
    const missing = await call(wf, "GET", "/holdings");
    assert.equal(missing.status, 400);
  });
});

Deno.test("HOLDINGS-mode accounts are not recalculated from activities", async () => {
  await withWf({}, async (wf) => {
    const h = wf.addAccount({ name: "H", currency: "GBP", trackingMode: "HOLDINGS" });
    const t = wf.addAccount({ name: "T", currency: "GBP", trackingMode: "NOT_SET" });
    await call(wf, "POST", "/activities", { body: cashAct(h.id, "DEPOSIT", "10") });
    await call(wf, "POST", "/activities", { body: cashAct(t.id, "DEPOSIT", "10") });
    assert.deepEqual(wf.holdings(h.id), []);
    assert.equal(cash(wf.holdings(t.id), "GBP"), 10);
  });
});

Deno.test("SSE stream reports recalculations; /portfolio/update answers 202", async () => {
  await withWf({ recalcLagMs: 20 }, async (wf) => {
    const acct = wf.addAccount({ name: "A", currency: "GBP" });
    const stream = await fetch(`${wf.baseUrl}/api/v1/events/stream`);
    assert.equal(stream.headers.get("content-type"), "text/event-stream");
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    const waitFor = async (event: string) => {
      while (!buf.includes(`event: ${event}\n`)) {
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended");
        buf += value;
      }
    };
    await call(wf, "POST", "/activities", { body: cashAct(acct.id, "DEPOSIT", "7") });
    await waitFor("portfolio:update-complete");
    assert.ok(buf.indexOf("portfolio:update-start") < buf.indexOf("portfolio:update-complete"));
    assert.equal(cash(wf.holdings(acct.id), "GBP"), 7);
    buf = "";
    const r = await call(wf, "POST", "/portfolio/recalculate");
    assert.equal(r.status, 202);
    await waitFor("portfolio:update-complete");
    assert.equal(
      (await call(wf, "POST", "/portfolio/update", { body: { accountIds: [acct.id] } })).status,
      202,
    );
    await reader.cancel();
  });
});

// ---- faults ----------------------------------------------------------------------------------

Deno.test("faults: one-shot status, drop, delay, after-handling, in order", async () => {
  await withWf({}, async (wf) => {
    const acct = wf.addAccount({ name: "A", currency: "GBP" });
    wf.fault({ on: { method: "GET", path: "/accounts" }, kind: "status", status: 503 });
    wf.fault({ on: { path: /\/accounts$/ }, kind: "status", status: 500 });
    const r1 = await call(wf, "GET", "/accounts");
    assert.equal(r1.status, 503);
    assert.equal(r1.text, "Service Unavailable");
    const r2 = await call(wf, "GET", "/accounts");
    assert.deepEqual(r2.json, { code: 500, message: "Internal Server Error" });
    assert.equal((await call(wf, "GET", "/accounts")).status, 200);

    // Warm the client's keep-alive pool: the drop must still reach the client as an error
    // (fetch retries silently on a reused connection), and exactly once.
    await Promise.all([1, 2, 3].map(() => call(wf, "GET", "/accounts")));
    wf.fault({ on: { path: "/api/v1/activities" }, kind: "drop" });
    const before = wf.requests.length;
    await assert.rejects(() =>
      call(wf, "POST", "/activities", { body: cashAct(acct.id, "DEPOSIT", "1") })
    );
    assert.equal(wf.state.activities.length, 0);
    assert.deepEqual(wf.requests.slice(before).map((r) => r.status), [0]);
    assert.equal((await call(wf, "GET", "/accounts")).status, 200);

    // The write happens, but the answer is lost: a retry meets the duplicate.
    wf.fault({ on: { path: "/activities" }, kind: "status", status: 502, afterHandling: true });
    const lost = await call(wf, "POST", "/activities", {
      body: cashAct(acct.id, "DEPOSIT", "1", { idempotencyKey: "k" }),
    });
    assert.equal(lost.status, 502);
    assert.equal(wf.state.activities.length, 1);
    const retry = await call(wf, "POST", "/activities", {
      body: cashAct(acct.id, "DEPOSIT", "1", { idempotencyKey: "k" }),
    });
    assert.equal(retry.status, 400);

    wf.fault({ kind: "drop", afterHandling: true });
    await assert.rejects(() =>
      call(wf, "POST", "/activities", { body: cashAct(acct.id, "DEPOSIT", "2") })
    );
    assert.equal(wf.state.activities.length, 2);

    wf.fault({ on: { method: "GET" }, kind: "delay", ms: 150 });
    const t0 = performance.now();
    assert.equal((await call(wf, "GET", "/healthz")).status, 200);
    assert.ok(performance.now() - t0 >= 140);
    assert.equal(wf.state.pendingFaults, 0);
    const last = wf.requests.at(-1)!;
    assert.deepEqual([last.method, last.path, last.status], ["GET", "/api/v1/healthz", 200]);
    const post = wf.requests.find((r) => r.method === "POST")!;
    assert.ok(post.bodyBytes > 0);
  });
});

Deno.test("expireSession: the next request's token is expired; a fresh login works", async () => {
  await withWf({ password: PW }, async (wf) => {
    const login = async () =>
      sessionCookie(await call(wf, "POST", "/auth/login", { body: { password: PW } }));
    const t1 = await login();
    const auth = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });
    wf.fault({ on: { path: "/auth/status" }, kind: "expireSession" }); // public: never taken
    wf.fault({ on: { path: "/accounts" }, kind: "expireSession" });
    assert.equal((await call(wf, "GET", "/auth/status")).status, 200);
    assert.equal((await call(wf, "GET", "/holdings?accountId=x", auth(t1))).status, 200);
    assert.equal((await call(wf, "GET", "/accounts", auth(t1))).status, 401);
    assert.equal((await call(wf, "GET", "/holdings?accountId=x", auth(t1))).status, 401);
    const t2 = await login();
    assert.notEqual(t2, t1);
    assert.equal((await call(wf, "GET", "/accounts", auth(t2))).status, 200);
    assert.equal(wf.state.pendingFaults, 1);
  });
});

Deno.test("single PUT and DELETE /activities; bulk create on a missing second account is 409", async () => {
  await withWf({}, async (wf) => {
    const acct = wf.addAccount({ name: "A", currency: "GBP" });
    const a = (await call(wf, "POST", "/activities", {
      body: buy(acct.id, { idempotencyKey: "k", notes: "n" }),
    })).json as Any;
    const put = await call(wf, "PUT", "/activities", {
      body: {
        id: a.id,
        accountId: acct.id,
        activityType: "BUY",
        activityDate: "2025-01-20",
        currency: "GBP",
        fee: null,
        unitPrice: "86",
      },
    });
    assert.equal(put.status, 200);
    const u = put.json as Any;
    assert.deepEqual([u.fee, u.unitPrice, u.quantity, u.notes], [null, "86", "10", "n"]);
    assert.equal(u.idempotencyKey, "k");
    assert.equal(u.activityDate, "2025-01-20T00:00:00+00:00");
    const missing = await call(wf, "PUT", "/activities", {
      body: { ...(put.json as Any), id: "nope" },
    });
    assert.equal(missing.status, 400);
    const del = await call(wf, "DELETE", `/activities/${a.id}`);
    assert.equal((del.json as Any).id, a.id);
    assert.equal(wf.state.activities.length, 0);
    assert.equal((await call(wf, "DELETE", `/activities/${a.id}`)).status, 400);

    const fk = await call(wf, "POST", "/activities/bulk", {
      body: { creates: [cashAct(acct.id, "DEPOSIT", "1"), cashAct("ghost", "DEPOSIT", "2")] },
    });
    assert.equal(fk.status, 409);
    assert.equal(wf.state.activities.length, 0);

    const b = wf.addAccount({ name: "B", currency: "GBP" });
    await call(wf, "POST", "/activities", { body: cashAct(acct.id, "DEPOSIT", "1.25") });
    await call(wf, "POST", "/activities", { body: cashAct(b.id, "DEPOSIT", "2") });
    const total = (await call(wf, "GET", "/holdings?accountId=TOTAL")).json as Holding[];
    assert.equal(cash(total, "GBP"), 3.25);
  });
});

// ---- holds (for kill tests) --------------------------------------------------------------------

Deno.test("hold before handling: the request waits; drop writes nothing, answer writes", async () => {
  await withWf({}, async (wf) => {
    const acct = wf.addAccount({ name: "A", currency: "GBP" });
    const held = wf.hold({ method: "POST", path: "/activities/bulk" });
    const first = call(wf, "POST", "/activities/bulk", {
      body: { creates: [cashAct(acct.id, "DEPOSIT", "1", { idempotencyKey: "k1" })] },
    }).catch((e) => e);
    await held.reached;
    assert.equal(wf.state.activities.length, 0, "nothing is written while held");
    held.release("drop");
    assert.ok((await first) instanceof Error, "a dropped request reaches the client as an error");
    assert.equal(wf.state.activities.length, 0);
    assert.equal(wf.requests.at(-1)?.status, 0);

    const again = wf.hold({ method: "POST", path: "/activities/bulk" });
    const second = call(wf, "POST", "/activities/bulk", {
      body: { creates: [cashAct(acct.id, "DEPOSIT", "1", { idempotencyKey: "k1" })] },
    });
    await again.reached;
    again.release();
    assert.equal((await second).status, 200);
    assert.equal(wf.state.activities.length, 1);
  });
});

Deno.test("hold after handling: written before the answer; skip lets earlier requests through", async () => {
  await withWf({}, async (wf) => {
    const acct = wf.addAccount({ name: "A", currency: "GBP" });
    const held = wf.hold({ method: "POST", path: "/activities/bulk" }, {
      afterHandling: true,
      skip: 1,
    });
    const body = (k: string) => ({
      body: { creates: [cashAct(acct.id, "DEPOSIT", "1", { idempotencyKey: k })] },
    });
    assert.equal((await call(wf, "POST", "/activities/bulk", body("a"))).status, 200);
    assert.equal(held.isReached, false, "the first matching request was skipped");
    const pending = call(wf, "POST", "/activities/bulk", body("b")).catch((e) => e);
    await held.reached;
    assert.deepEqual(wf.state.activities.map((a) => a.idempotencyKey), ["a", "b"]);
    held.release("drop");
    assert.ok((await pending) instanceof Error, "the answer is lost");
    assert.equal(wf.state.activities.length, 2, "but the write stays");
  });
});

Deno.test("close() lets go of held requests", async () => {
  const wf = await startWealthfolioStandIn({ recalcLagMs: 0 });
  const held = wf.hold({ path: "/accounts" });
  const pending = call(wf, "GET", "/accounts").catch((e) => e);
  await held.reached;
  await wf.close();
  assert.ok((await pending) instanceof Error);
});
