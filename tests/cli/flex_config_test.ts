import assert from "node:assert/strict";
import { ConfigError } from "../../src/cli/config.ts";
import {
  DEFAULT_POLL_SECONDS,
  DEFAULT_USER_AGENT,
  loadFlexConfig,
  tokenExpiry,
} from "../../src/cli/flex_config.ts";
import { redactSecrets } from "../../src/cli/secrets.ts";
import { DEFAULT_FLEX_BASE_URL } from "../../src/flex/service_client.ts";
import { VERSION } from "../../src/version.ts";

const TOKEN = "564738291056473829105647";
const envOf = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("defaults: IBKR's current endpoint, a Technology/Version User-Agent, 5 s polls", () => {
  const c = loadFlexConfig(envOf({ IBKR_FLEX_TOKEN: TOKEN, IBKR_FLEX_QUERY_ID: "987654" }));
  assert.equal(c.baseUrl.href, DEFAULT_FLEX_BASE_URL);
  assert.equal(
    DEFAULT_FLEX_BASE_URL,
    "https://ndcdyn.interactivebrokers.com/AccountManagement/FlexWebService",
  );
  assert.equal(c.userAgent, `Java/1.8 broker-sync/${VERSION}`);
  assert.equal(c.userAgent, DEFAULT_USER_AGENT);
  assert.equal(c.pollSeconds, DEFAULT_POLL_SECONDS);
  assert.equal(c.token, TOKEN);
});

Deno.test("reading the token registers it: no printed line can carry it afterwards", () => {
  const token = "112233445566778899001122";
  assert.equal(redactSecrets(`t=${token}`), `t=${token}`);
  loadFlexConfig(envOf({ IBKR_FLEX_TOKEN: `${token}\n`, IBKR_FLEX_QUERY_ID: "1" }));
  assert.equal(redactSecrets(`t=${token}`), "t=[redacted]");
});

Deno.test("the base URL must be https, except to this machine; no query string", () => {
  const load = (url: string) =>
    loadFlexConfig(
      envOf({ IBKR_FLEX_TOKEN: TOKEN, IBKR_FLEX_QUERY_ID: "1", IBKR_FLEX_BASE_URL: url }),
    );
  assert.equal(load("http://127.0.0.1:8080/x").baseUrl.port, "8080");
  assert.equal(load("http://localhost:8080/x").baseUrl.hostname, "localhost");
  assert.equal(load("https://proxy.example/flex").baseUrl.hostname, "proxy.example");
  assert.throws(() => load("http://proxy.example/flex"), /must be https/);
  assert.throws(() => load("https://h.example/x?t=1"), /must not carry a query string/);
  assert.throws(() => load("not a url"), /is not a URL/);
});

Deno.test("bad values name the variable, never the token", () => {
  const base = { IBKR_FLEX_TOKEN: TOKEN, IBKR_FLEX_QUERY_ID: "1" };
  const fails = (vars: Record<string, string>, says: RegExp) =>
    assert.throws(() => loadFlexConfig(envOf({ ...base, ...vars })), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, says);
      assert.ok(!e.message.includes(TOKEN));
      return true;
    });
  fails({ IBKR_FLEX_QUERY_ID: "12a" }, /IBKR_FLEX_QUERY_ID: is not a Flex query id/);
  fails({ IBKR_FLEX_POLL_SECONDS: "soon" }, /IBKR_FLEX_POLL_SECONDS: is not a number of seconds/);
  fails({ IBKR_FLEX_POLL_SECONDS: "600" }, /more than 120 seconds/);
  fails({ IBKR_FLEX_USER_AGENT: "\u0001" }, /IBKR_FLEX_USER_AGENT: is not a User-Agent/);
  fails({ IBKR_FLEX_TOKEN: `${TOKEN} extra` }, /IBKR_FLEX_TOKEN: the token has spaces/);
});

Deno.test("the expiry date: the flag wins over the variable, and must be a real date", () => {
  const env = envOf({ IBKR_FLEX_TOKEN_EXPIRES: "2027-01-31" });
  assert.equal(tokenExpiry(env), "2027-01-31");
  assert.equal(tokenExpiry(env, "2026-12-01"), "2026-12-01");
  assert.equal(tokenExpiry(envOf({})), null);
  assert.throws(
    () => tokenExpiry(envOf({ IBKR_FLEX_TOKEN_EXPIRES: "2027-02-30" })),
    /not YYYY-MM-DD/,
  );
});
