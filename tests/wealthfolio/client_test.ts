/**
 * The Wealthfolio client against the loopback stand-in over real HTTP: both login styles, the
 * session cache and its expiry, the one re-login on 401, the login rate limit, retries with
 * backoff, timeouts, and what a refused password looks like. The clock and sleep are fakes
 * shared with the stand-in, so no test waits for real.
 */
import assert from "node:assert/strict";
import { WealthfolioClient } from "../../src/wealthfolio/client.ts";
import { WealthfolioAuthError, WealthfolioUnavailableError } from "../../src/wealthfolio/errors.ts";
import { SessionFile } from "../../src/wealthfolio/session.ts";
import {
  startWealthfolioStandIn,
  type WealthfolioStandIn,
  type WealthfolioStandInOptions,
} from "../standins/wealthfolio.ts";

const PASSWORD = "correct horse battery";

/** A fake clock both sides read; `sleep` moves it instead of waiting. */
class FakeTime {
  now = Date.UTC(2026, 0, 5, 9, 0, 0);
  readonly sleeps: number[] = [];
  clock = () => this.now;
  sleep = (ms: number) => {
    this.sleeps.push(ms);
    this.now += ms;
    return Promise.resolve();
  };
}

interface Setup {
  wf: WealthfolioStandIn;
  time: FakeTime;
  dir: string;
  client: (
    o?: { password?: string | null; timeoutMs?: number; persist?: boolean },
  ) => WealthfolioClient;
  secrets: string[];
  logins: () => number;
}

async function withSetup(
  options: WealthfolioStandInOptions,
  fn: (s: Setup) => Promise<void>,
): Promise<void> {
  const time = new FakeTime();
  const wf = await startWealthfolioStandIn({
    password: PASSWORD,
    recalcLagMs: 0,
    clock: time.clock,
    ...options,
  });
  const dir = await Deno.makeTempDir({ prefix: "wf-client-test-" });
  const secrets: string[] = [];
  try {
    await fn({
      wf,
      time,
      dir,
      secrets,
      client: (o = {}) =>
        new WealthfolioClient({
          baseUrl: wf.baseUrl,
          password: o.password === undefined ? PASSWORD : o.password,
          sessionFile: new SessionFile(`${dir}/session.json`, wf.baseUrl),
          persistSession: o.persist ?? true,
          now: time.clock,
          sleep: time.sleep,
          timeoutMs: o.timeoutMs,
          onSecret: (s) => secrets.push(s),
        }),
      logins: () => wf.requests.filter((r) => r.path === "/api/v1/auth/login").length,
    });
  } finally {
    await wf.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function cachedToken(dir: string): string {
  return JSON.parse(Deno.readTextFileSync(`${dir}/session.json`)).token;
}

Deno.test("cookie login (3.1+): the wf_session token is sent as Bearer and cached 0600", async () => {
  await withSetup({}, async ({ wf, dir, client, logins, secrets }) => {
    wf.addAccount({ name: "GIA", currency: "GBP" });
    const accounts = await client().accounts();
    assert.deepEqual(accounts.map((a) => a.name), ["GIA"]);
    assert.equal(logins(), 1);
    const info = await Deno.stat(`${dir}/session.json`);
    assert.equal(info.mode! & 0o777, 0o600, "the session cache is readable by its owner only");
    const token = cachedToken(dir);
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.ok(secrets.includes(PASSWORD) && secrets.includes(token), "both registered as secrets");
  });
});

Deno.test("body login (3.0): the accessToken is sent as Bearer (cookies ignored by that server)", async () => {
  await withSetup({ loginStyle: "body" }, async ({ wf, dir, client, logins }) => {
    wf.addAccount({ name: "GIA", currency: "GBP" });
    assert.equal((await client().accounts()).length, 1);
    assert.equal(logins(), 1);
    assert.match(cachedToken(dir), /^[\w-]+\.[\w-]+\.[\w-]+$/);
  });
});

Deno.test("the cached session is reused by the next process until it expires", async () => {
  await withSetup({ tokenTtlSeconds: 600 }, async ({ time, client, logins, dir }) => {
    await client().accounts();
    const first = cachedToken(dir);
    time.now += 200_000;
    await client().accounts();
    assert.equal(logins(), 1, "a second client within the TTL does not log in");
    time.now += 400_000; // past the 600 s lifetime
    await client().accounts();
    assert.equal(logins(), 2, "an expired session is replaced by a new login");
    assert.notEqual(cachedToken(dir), first);
  });
});

Deno.test("a session Wealthfolio refuses (401) is replaced by one login and the call repeated", async () => {
  await withSetup({}, async ({ wf, client, logins, dir }) => {
    await client().accounts();
    const first = cachedToken(dir);
    wf.fault({ on: { path: "/accounts" }, kind: "expireSession" });
    const c = client();
    assert.equal((await c.accounts()).length, 0);
    assert.equal(logins(), 2);
    assert.notEqual(cachedToken(dir), first);
    const statuses = wf.requests.filter((r) => r.path === "/api/v1/accounts").map((r) => r.status);
    assert.deepEqual(statuses, [200, 401, 200]);
  });
});

Deno.test("a sliding refresh cookie replaces the cached session", async () => {
  await withSetup({ tokenTtlSeconds: 600 }, async ({ time, client, dir, logins }) => {
    const c = client();
    await c.accounts();
    const first = cachedToken(dir);
    time.now += 400_000; // past half the lifetime: the server sends a fresh cookie
    await c.accounts();
    assert.notEqual(cachedToken(dir), first);
    time.now += 300_000; // the first token has expired; the refreshed one has not
    await client().accounts();
    assert.equal(logins(), 1);
  });
});

Deno.test("login 429: the wait Wealthfolio asks for (retry-after) is honoured, then login succeeds", async () => {
  await withSetup(
    { loginRateLimit: { burst: 1, refillSeconds: 12 } },
    async ({ wf, time, client }) => {
      await client({ persist: false }).accounts();
      await client({ persist: false }).accounts();
      const logins = wf.requests.filter((r) => r.path === "/api/v1/auth/login");
      assert.deepEqual(logins.map((r) => r.status), [200, 429, 200]);
      assert.deepEqual(time.sleeps, [12_000], "waited exactly as long as retry-after said");
    },
  );
});

Deno.test("a wrong password is an auth error that never shows the password", async () => {
  await withSetup({}, async ({ client }) => {
    await assert.rejects(
      () => client({ password: "not the password" }).accounts(),
      (e: Error) => {
        assert.ok(e instanceof WealthfolioAuthError);
        assert.match(e.message, /refused the password in WF_PASSWORD \(401 Invalid password\)/);
        assert.ok(!e.message.includes("not the password"));
        return true;
      },
    );
  });
});

Deno.test("a server that requires a password, and none configured: an auth error naming WF_PASSWORD", async () => {
  await withSetup({}, async ({ client, logins }) => {
    await assert.rejects(() => client({ password: null }).accounts(), /set WF_PASSWORD/);
    assert.equal(logins(), 0);
  });
});

Deno.test("a server without authentication is used without logging in", async () => {
  await withSetup({ password: null }, async ({ client, logins, dir }) => {
    assert.deepEqual(await client({ password: null }).accounts(), []);
    assert.equal(logins(), 0);
    await assert.rejects(() => Deno.stat(`${dir}/session.json`), Deno.errors.NotFound);
  });
});

Deno.test("5xx is retried with backoff and succeeds; persistent 5xx gives up as unavailable", async () => {
  await withSetup({}, async ({ wf, time, client }) => {
    const c = client();
    await c.accounts();
    wf.fault({ on: { path: "/accounts" }, kind: "status", status: 503 });
    wf.fault({ on: { path: "/accounts" }, kind: "status", status: 502 });
    await c.accounts();
    assert.deepEqual(time.sleeps, [500, 1000]);

    for (let i = 0; i < 4; i++) {
      wf.fault({ on: { path: "/accounts" }, kind: "status", status: 500 });
    }
    await assert.rejects(() => c.accounts(), (e: Error) => {
      assert.ok(e instanceof WealthfolioUnavailableError);
      assert.match(e.message, /GET \/accounts\?includeArchived=true: HTTP 500 .*after 4 attempts/);
      return true;
    });
    assert.deepEqual(time.sleeps, [500, 1000, 500, 1000, 2000]);
  });
});

Deno.test("a call with no answer in time is retried, then reported unavailable", async () => {
  await withSetup({}, async ({ wf, client }) => {
    const c = client({ timeoutMs: 100 });
    await c.accounts();
    for (let i = 0; i < 4; i++) wf.fault({ on: { path: "/accounts" }, kind: "delay", ms: 400 });
    await assert.rejects(
      () => c.accounts(),
      /no answer within 100 ms \(gave up after 4 attempts\)/,
    );
  });
});

Deno.test("a dropped connection is retried like a timeout", async () => {
  await withSetup({}, async ({ wf, client }) => {
    const c = client();
    await c.accounts();
    wf.fault({ on: { path: "/accounts" }, kind: "drop" });
    assert.deepEqual(await c.accounts(), []);
  });
});
