/**
 * The Flex Web Service client against the loopback stand-in: real HTTP, every scripted
 * misbehaviour of the contract, and the number and spacing of calls on a virtual clock shared
 * by both sides (so a 1018's ten seconds cost nothing).
 */
import assert from "node:assert/strict";
import { TokenRateLimiter } from "../../src/flex/pacing.ts";
import {
  DEFAULT_FLEX_BASE_URL,
  DEFAULT_SCHEDULE,
  type FlexEvent,
  type FlexSchedule,
  FlexServiceClient,
  statementUrlFor,
} from "../../src/flex/service_client.ts";
import {
  FlexServiceError,
  FlexUnexpectedAnswerError,
  FlexUnreachableError,
} from "../../src/flex/service_errors.ts";
import {
  defaultStatement,
  type FlexCall,
  type FlexStandIn,
  type FlexStandInOptions,
  startFlexStandIn,
} from "../standins/flex_service.ts";
import { MIDDLE, VirtualClock } from "./_virtual_clock.ts";

const TOKEN = "918273645546372819283746";
const QUERY = "987654";
const WINDOW = { from: "2025-01-01", to: "2025-12-31" } as const;
const UA = "Java/1.8 broker-sync/test";

interface Rig {
  readonly flex: FlexStandIn;
  readonly clock: VirtualClock;
  readonly client: FlexServiceClient;
  readonly events: FlexEvent[];
}

async function withRig(
  options: {
    standIn?: Partial<FlexStandInOptions>;
    schedule?: Partial<FlexSchedule>;
    baseUrl?: string;
    token?: string;
  },
  body: (rig: Rig) => Promise<void>,
): Promise<void> {
  const clock = new VirtualClock();
  const flex = await startFlexStandIn({
    token: TOKEN,
    queryId: QUERY,
    clock: clock.read,
    ...options.standIn,
  });
  const events: FlexEvent[] = [];
  const client = new FlexServiceClient(
    {
      token: options.token ?? TOKEN,
      queryId: QUERY,
      baseUrl: new URL(options.baseUrl ?? flex.baseUrl),
      userAgent: UA,
    },
    {
      clock,
      limiter: new TokenRateLimiter(clock),
      random: MIDDLE,
      onEvent: (e) => events.push(e),
    },
    { ...DEFAULT_SCHEDULE, ...options.schedule },
  );
  try {
    await body({ flex, clock, client, events });
  } finally {
    await flex.close();
  }
}

/** Endpoint and offset (ms after the first call) of every call. */
function timeline(calls: readonly FlexCall[]): string[] {
  const t0 = calls[0]?.at ?? 0;
  return calls.map((c) => `${c.endpoint}@${c.at - t0}`);
}

async function rejects<E extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => E,
): Promise<E> {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof type, `expected ${type.name}, got ${e}`);
    assert.ok(!e.message.includes(TOKEN), `the token leaked into: ${e.message}`);
    return e;
  }
  assert.fail(`expected ${type.name}, but it resolved`);
}

Deno.test("a statement: SendRequest with v=3 and the explicit window, GetStatement 5 s later", async () => {
  await withRig({}, async ({ flex, client }) => {
    const got = await client.fetchStatement(WINDOW);
    const text = new TextDecoder().decode(got.bytes);
    assert.match(
      text,
      /<FlexStatement accountId="U1234567" fromDate="2025-01-01" toDate="2025-12-31"/,
    );
    assert.deepEqual(timeline(flex.calls), ["SendRequest@0", "GetStatement@5000"]);
    const [send, get] = flex.calls;
    assert.deepEqual(send.params, { t: TOKEN, q: QUERY, v: "3", fd: "20250101", td: "20251231" });
    assert.deepEqual(get.params, { q: got.referenceCode, t: TOKEN, v: "3" });
    assert.equal(send.userAgent, UA);
    assert.equal(get.userAgent, UA);
    assert.equal(got.calls, 2);
    assert.equal(got.statementUrl, `${flex.baseUrl}/GetStatement`);
  });
});

Deno.test("1019 three times, then the statement: polls back off 5, 10, 20 s", async () => {
  await withRig({ standIn: { generationPolls: 3 } }, async ({ flex, client }) => {
    const got = await client.fetchStatement(WINDOW);
    assert.equal(got.calls, 5);
    assert.deepEqual(timeline(flex.calls), [
      "SendRequest@0",
      "GetStatement@5000",
      "GetStatement@10000",
      "GetStatement@20000",
      "GetStatement@40000",
    ]);
  });
});

Deno.test("poll waits carry ±20 % jitter: the lowest and highest draws", async () => {
  const draws: [() => number, number[]][] = [[() => 0, [4000, 8000]], [() => 0.999, [5998, 11996]]];
  for (const [random, expected] of draws) {
    const clock = new VirtualClock();
    const flex = await startFlexStandIn({
      token: TOKEN,
      queryId: QUERY,
      clock: clock.read,
      generationPolls: 2,
    });
    try {
      const client = new FlexServiceClient(
        { token: TOKEN, queryId: QUERY, baseUrl: new URL(flex.baseUrl), userAgent: UA },
        { clock, limiter: new TokenRateLimiter(clock), random },
      );
      await client.fetchStatement(WINDOW);
      const gaps = flex.calls.slice(2).map((c, i) => c.at - flex.calls[i + 1].at);
      assert.deepEqual(gaps, expected);
    } finally {
      await flex.close();
    }
  }
});

Deno.test("1018 on SendRequest: the next call waits at least 10 s", async () => {
  await withRig({}, async ({ flex, client }) => {
    flex.script([{ kind: "error", code: "1018", on: "SendRequest" }]);
    await client.fetchStatement(WINDOW);
    assert.deepEqual(timeline(flex.calls), [
      "SendRequest@0",
      "SendRequest@12000", // 10 s × (1 + 0.4 × 0.5): jitter only adds to the 10 s
      "GetStatement@17000",
    ]);
  });
});

Deno.test("1018 while polling waits ≥ 10 s even with the lowest jitter, and does not count as a poll", async () => {
  const clock = new VirtualClock();
  const flex = await startFlexStandIn({ token: TOKEN, queryId: QUERY, clock: clock.read });
  try {
    const client = new FlexServiceClient(
      { token: TOKEN, queryId: QUERY, baseUrl: new URL(flex.baseUrl), userAgent: UA },
      { clock, limiter: new TokenRateLimiter(clock), random: () => 0 },
      { ...DEFAULT_SCHEDULE, maxPolls: 2 },
    );
    flex.script([
      { kind: "error", code: "1018", on: "GetStatement" },
      { kind: "error", code: "1018", on: "GetStatement" },
      { kind: "error", code: "1018", on: "GetStatement" },
    ]);
    await client.fetchStatement(WINDOW);
    assert.deepEqual(timeline(flex.calls), [
      "SendRequest@0",
      "GetStatement@5000",
      "GetStatement@15000",
      "GetStatement@25000",
      "GetStatement@35000",
    ]);
  } finally {
    await flex.close();
  }
});

Deno.test("the stand-in's own rate limit is never hit: 12 statements keep to 10 calls a minute", async () => {
  await withRig({ schedule: { firstPollMs: 0 } }, async ({ flex, client }) => {
    for (let i = 0; i < 12; i++) await client.fetchStatement(WINDOW);
    assert.equal(flex.calls.length, 24);
    const ats = flex.calls.map((c) => c.at);
    for (let i = 1; i < ats.length; i++) assert.ok(ats[i] - ats[i - 1] >= 1000, `call ${i}`);
    for (let i = 10; i < ats.length; i++) {
      assert.ok(ats[i] - ats[i - 10] >= 60_000, `calls ${i - 10}..${i} within a minute`);
    }
    // …and nothing was throttled: every answer was a success.
    assert.ok(flex.calls.every((c) => c.endpoint !== "other"));
  });
});

Deno.test("1001 three times is fatal and points at the endpoint", async () => {
  await withRig({}, async ({ flex, client }) => {
    flex.script([
      { kind: "error", code: "1001", on: "SendRequest" },
      { kind: "error", code: "1001", on: "SendRequest" },
      { kind: "error", code: "1001", on: "SendRequest" },
    ]);
    const e = await rejects(client.fetchStatement(WINDOW), FlexUnreachableError);
    assert.match(e.message, /1001/);
    assert.match(e.message, /IBKR_FLEX_BASE_URL/);
    assert.deepEqual(timeline(flex.calls), [
      "SendRequest@0",
      "SendRequest@5000",
      "SendRequest@15000",
    ]);
  });
});

Deno.test("1001 once, then success", async () => {
  await withRig({}, async ({ flex, client }) => {
    flex.script([{ kind: "error", code: "1001", on: "SendRequest" }]);
    await client.fetchStatement(WINDOW);
    assert.deepEqual(timeline(flex.calls), [
      "SendRequest@0",
      "SendRequest@5000",
      "GetStatement@10000",
    ]);
  });
});

const FATAL: [string, string][] = [
  ["1012", "token-expired"],
  ["1015", "token-invalid"],
  ["1013", "ip-restricted"],
  ["1011", "service-inactive"],
  ["1014", "query-invalid"],
  ["1010", "query-invalid"],
  ["1016", "account-invalid"],
  ["1003", "refused"],
  ["1020", "refused"],
];

for (const [code, refusal] of FATAL) {
  Deno.test(`${code} stops at once (${refusal}), with IBKR's code and text`, async () => {
    await withRig({}, async ({ flex, client }) => {
      flex.script([{ kind: "error", code: code as "1012", on: "SendRequest" }]);
      const e = await rejects(client.fetchStatement(WINDOW), FlexServiceError);
      assert.equal(e.refusal, refusal);
      assert.equal(e.code, code);
      assert.match(e.message, new RegExp(`IBKR error ${code} "`));
      assert.equal(flex.calls.length, 1);
    });
  });
}

Deno.test("an unknown code is fatal with IBKR's own text, never retried", async () => {
  await withRig({}, async ({ flex, client }) => {
    flex.script([{
      kind: "unknownCode",
      code: "1025",
      message: "Too many failed attempts.",
      status: "Warn",
      on: "GetStatement",
    }]);
    const e = await rejects(client.fetchStatement(WINDOW), FlexServiceError);
    assert.equal(e.refusal, "refused");
    assert.match(e.message, /IBKR error 1025 "Too many failed attempts\."/);
    assert.equal(flex.calls.length, 2);
  });
});

Deno.test("1017 once restarts from SendRequest; a second 1017 is fatal", async () => {
  await withRig({}, async ({ flex, client }) => {
    flex.script([{ kind: "error", code: "1017", on: "GetStatement" }]);
    await client.fetchStatement(WINDOW);
    assert.deepEqual(flex.calls.map((c) => c.endpoint), [
      "SendRequest",
      "GetStatement",
      "SendRequest",
      "GetStatement",
    ]);
  });
  await withRig({}, async ({ flex, client }) => {
    flex.script([
      { kind: "error", code: "1017", on: "GetStatement" },
      { kind: "error", code: "1017", on: "GetStatement" },
    ]);
    const e = await rejects(client.fetchStatement(WINDOW), FlexServiceError);
    assert.equal(e.refusal, "refused");
    assert.equal(e.code, "1017");
    assert.equal(flex.calls.length, 4);
  });
});

Deno.test("a statement that never finishes generating gives up after maxPolls answers", async () => {
  await withRig({ standIn: { generationPolls: 50 } }, async ({ flex, client }) => {
    const e = await rejects(client.fetchStatement(WINDOW), FlexUnreachableError);
    assert.match(e.message, /still not ready after 10 answers \(last: 1019/);
    assert.equal(flex.calls.length, 11);
  });
});

Deno.test("the deadline bounds one statement, however the waits add up", async () => {
  await withRig(
    { standIn: { generationPolls: 50 }, schedule: { deadlineMs: 60_000 } },
    async ({ flex, client, clock }) => {
      const start = clock.now();
      const e = await rejects(client.fetchStatement(WINDOW), FlexUnreachableError);
      assert.match(e.message, /gave up after 5 calls in 40 s \(the deadline is 60 s/);
      assert.match(e.message, /last answer: Warn 1019/);
      assert.ok(clock.now() - start <= 60_000);
      assert.equal(flex.calls.length, 5);
    },
  );
});

Deno.test("an HTML 404 page is its own error, at once, not retried", async () => {
  await withRig({}, async ({ flex, client }) => {
    flex.script([{ kind: "html", status: 404, on: "SendRequest" }]);
    const e = await rejects(client.fetchStatement(WINDOW), FlexUnexpectedAnswerError);
    assert.match(e.message, /HTTP 404: answered with an HTML page, not Flex XML/);
    assert.equal(flex.calls.length, 1);
  });
});

Deno.test("a wrong base URL (any path but the service) is an HTML 404, at once", async () => {
  await withRig({}, async ({ flex }) => {
    const clock = new VirtualClock();
    const client = new FlexServiceClient(
      {
        token: TOKEN,
        queryId: QUERY,
        baseUrl: new URL(flex.baseUrl.replace("FlexWebService", "Nowhere")),
        userAgent: UA,
      },
      { clock, limiter: new TokenRateLimiter(clock), random: MIDDLE },
    );
    await rejects(client.fetchStatement(WINDOW), FlexUnexpectedAnswerError);
    assert.equal(flex.calls.length, 1);
  });
});

Deno.test("HTTP 500 and a 503 maintenance page are retried, then succeed", async () => {
  await withRig({}, async ({ flex, client }) => {
    flex.script([
      { kind: "http", status: 500, on: "SendRequest" },
      { kind: "html", status: 503, on: "GetStatement" },
    ]);
    await client.fetchStatement(WINDOW);
    assert.deepEqual(timeline(flex.calls), [
      "SendRequest@0",
      "SendRequest@5000",
      "GetStatement@10000",
      "GetStatement@15000",
    ]);
  });
});

Deno.test("HTTP 500 three times in a row: unreachable, naming the status", async () => {
  await withRig({}, async ({ flex, client }) => {
    flex.script(
      [1, 2, 3].map(() => ({ kind: "http" as const, status: 500, on: "SendRequest" as const })),
    );
    const e = await rejects(client.fetchStatement(WINDOW), FlexUnreachableError);
    assert.match(e.message, /HTTP 500: answered with something that is not XML.*\(3 attempts\)/);
    assert.equal(flex.calls.length, 3);
  });
});

Deno.test("a stalled body is cut by the stall timeout and the call retried", async () => {
  await withRig(
    { schedule: { http: { ...DEFAULT_SCHEDULE.http, stallTimeoutMs: 150 } } },
    async ({ flex, client }) => {
      flex.script([{ kind: "stall", afterBytes: 120, on: "GetStatement" }]);
      const got = await client.fetchStatement(WINDOW);
      assert.match(new TextDecoder().decode(got.bytes), /<\/FlexQueryResponse>/);
      assert.deepEqual(flex.calls.map((c) => c.endpoint), [
        "SendRequest",
        "GetStatement",
        "GetStatement",
      ]);
    },
  );
});

Deno.test("a body that stalls every time: unreachable, saying it stalled", async () => {
  await withRig(
    { schedule: { http: { ...DEFAULT_SCHEDULE.http, stallTimeoutMs: 100 } } },
    async ({ flex, client }) => {
      flex.script(
        [1, 2, 3].map(() => ({
          kind: "stall" as const,
          afterBytes: 10,
          on: "GetStatement" as const,
        })),
      );
      const e = await rejects(client.fetchStatement(WINDOW), FlexUnreachableError);
      assert.match(
        e.message,
        /GetStatement: .*\/GetStatement: the answer stalled \(no data for 0\.1 s\) \(3 attempts\)/,
      );
      assert.equal(flex.calls.length, 4);
    },
  );
});

Deno.test("a truncated SendRequest answer is its own error", async () => {
  await withRig({}, async ({ flex, client }) => {
    flex.script([{ kind: "truncate", bytes: 90, on: "SendRequest" }]);
    const e = await rejects(client.fetchStatement(WINDOW), FlexUnexpectedAnswerError);
    assert.match(e.message, /SendRequest: HTTP 200: answered with truncated or malformed XML/);
    assert.equal(flex.calls.length, 1);
  });
});

Deno.test("a truncated statement comes back as received: the reader refuses it after journaling", async () => {
  await withRig({}, async ({ flex, client }) => {
    flex.script([{ kind: "truncate", bytes: 300, on: "GetStatement" }]);
    const got = await client.fetchStatement(WINDOW);
    assert.equal(got.bytes.byteLength, 300);
  });
});

Deno.test("a closed port: connection refused, three attempts, then unreachable", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const clock = new VirtualClock();
  const client = new FlexServiceClient(
    {
      token: TOKEN,
      queryId: QUERY,
      baseUrl: new URL(`http://127.0.0.1:${port}/AccountManagement/FlexWebService`),
      userAgent: UA,
    },
    { clock, limiter: new TokenRateLimiter(clock), random: MIDDLE },
  );
  const e = await rejects(client.fetchStatement(WINDOW), FlexUnreachableError);
  assert.equal(
    e.message,
    `Flex Web Service SendRequest: http://127.0.0.1:${port}/AccountManagement/FlexWebService/SendRequest: connection refused (3 attempts)`,
  );
  assert.deepEqual(clock.sleeps, [5000, 10000]);
});

Deno.test("a <Url> on a foreign host is never contacted: GetStatement goes to the configured base", async () => {
  const foreign = await startFlexStandIn({ token: TOKEN, queryId: QUERY });
  try {
    await withRig(
      { standIn: { urlHost: `${foreign.baseUrl}/GetStatement` } },
      async ({ flex, client, events }) => {
        // The foreign stand-in listens on another port: another origin, as a foreign host is.
        const got = await client.fetchStatement(WINDOW);
        assert.equal(got.statementUrl, `${flex.baseUrl}/GetStatement`);
        assert.equal(foreign.calls.length, 0, "the token never went to the foreign host");
        assert.deepEqual(flex.calls.map((c) => c.endpoint), ["SendRequest", "GetStatement"]);
        const refused = events.find((e) => e.kind === "url-refused");
        assert.deepEqual(refused, {
          kind: "url-refused",
          host: new URL(foreign.baseUrl).origin,
          using: `${flex.baseUrl}/GetStatement`,
        });
      },
    );
  } finally {
    await foreign.close();
  }
});

Deno.test("<Url> policy: https interactivebrokers.com hosts and the configured origin only", () => {
  const ibkr = new URL(DEFAULT_FLEX_BASE_URL);
  const follow = (u: string, base = ibkr) => statementUrlFor(u, base).refused === null;
  assert.ok(
    follow("https://gdcdyn.interactivebrokers.com/AccountManagement/FlexWebService/GetStatement"),
  );
  assert.ok(follow("https://interactivebrokers.com/x"));
  assert.ok(!follow("http://gdcdyn.interactivebrokers.com/x"), "not https");
  assert.ok(!follow("https://interactivebrokers.com.evil.example/x"));
  assert.ok(!follow("https://evilinteractivebrokers.com/x"));
  assert.ok(!follow("https://127.0.0.1:9/x"));
  assert.ok(!follow("not a url"));
  assert.ok(
    follow("http://127.0.0.1:8080/other/GetStatement", new URL("http://127.0.0.1:8080/base")),
  );
  assert.ok(!follow("http://127.0.0.1:8081/x", new URL("http://127.0.0.1:8080/base")));
  assert.equal(
    statementUrlFor("https://evil.example/x", ibkr).url.href,
    `${DEFAULT_FLEX_BASE_URL}/GetStatement`,
  );
  assert.equal(statementUrlFor(null, ibkr).url.href, `${DEFAULT_FLEX_BASE_URL}/GetStatement`);
});

Deno.test("an HTTP redirect is not followed: it would carry the token elsewhere", async () => {
  const foreign = await startFlexStandIn({ token: TOKEN, queryId: QUERY });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => Response.redirect(`${foreign.baseUrl}/SendRequest`, 302),
  );
  try {
    const clock = new VirtualClock();
    const client = new FlexServiceClient(
      {
        token: TOKEN,
        queryId: QUERY,
        baseUrl: new URL(`http://127.0.0.1:${server.addr.port}/x`),
        userAgent: UA,
      },
      { clock, limiter: new TokenRateLimiter(clock), random: MIDDLE },
    );
    const e = await rejects(client.fetchStatement(WINDOW), FlexUnexpectedAnswerError);
    assert.match(e.message, /HTTP 302 redirecting to 127\.0\.0\.1:\d+; redirects are not followed/);
    assert.equal(foreign.calls.length, 0);
  } finally {
    await server.shutdown();
    await foreign.close();
  }
});

Deno.test("a server echoing the token in its error text never gets it into our message", async () => {
  await withRig({}, async ({ flex, client }) => {
    flex.script([{
      kind: "unknownCode",
      code: "1099",
      message: `bad token ${TOKEN}`,
      on: "SendRequest",
    }]);
    const e = await rejects(client.fetchStatement(WINDOW), FlexServiceError);
    assert.match(e.message, /bad token \[redacted\]/);
  });
});

Deno.test("a token echoed in the error code never reaches a message, an event or a token check", async () => {
  const echo = {
    kind: "unknownCode",
    code: `E${TOKEN}`,
    message: "no",
    on: "SendRequest",
  } as const;
  await withRig({}, async ({ flex, client, events }) => {
    flex.script([echo]);
    const e = await rejects(client.fetchStatement(WINDOW), FlexServiceError);
    assert.equal(e.code, "E[redacted]");
    assert.ok(!JSON.stringify(events).includes(TOKEN), "the token is in an event");
  });
  await withRig({}, async ({ flex, client }) => {
    flex.script([echo]);
    const check = await client.checkToken(WINDOW);
    assert.deepEqual([check.verdict, check.code], ["refused", "E[redacted]"]);
  });
});

Deno.test("checkToken: one SendRequest and a verdict for each answer", async () => {
  const cases: [Parameters<FlexStandIn["script"]>[0], string][] = [
    [[], "valid"],
    [[{ kind: "error", code: "1012" }], "expired"],
    [[{ kind: "error", code: "1015" }], "invalid"],
    [[{ kind: "error", code: "1013" }], "ip-restricted"],
    [[{ kind: "error", code: "1011" }], "service-inactive"],
    [[{ kind: "error", code: "1014" }], "query-invalid"],
    [[{ kind: "error", code: "1016" }], "account-invalid"],
    [[{ kind: "error", code: "1018" }], "undetermined"],
    [[{ kind: "error", code: "1003" }], "refused"],
    [[{ kind: "html", status: 404 }], "unreachable"],
  ];
  for (const [steps, verdict] of cases) {
    await withRig({}, async ({ flex, client }) => {
      flex.script(steps);
      const check = await client.checkToken({ from: "2025-06-01", to: "2025-06-01" });
      assert.equal(check.verdict, verdict, JSON.stringify(steps));
      assert.deepEqual(flex.calls.map((c) => c.endpoint), ["SendRequest"]);
    });
  }
});

Deno.test("checkToken with the stand-in's real token check: a wrong token is invalid", async () => {
  await withRig({ token: "000000000000000000000000" }, async ({ flex, client }) => {
    const check = await client.checkToken({ from: "2025-06-01", to: "2025-06-01" });
    assert.equal(check.verdict, "invalid");
    assert.equal(check.code, "1015");
    assert.equal(flex.calls.length, 1);
  });
});

Deno.test("the default statement of the stand-in is what the client returns, byte for byte", async () => {
  await withRig({}, async ({ flex, client }) => {
    const body = defaultStatement({ fd: "20250101", td: "20251231", p: null, query: QUERY });
    flex.setStatement(() => body);
    const got = await client.fetchStatement(WINDOW);
    assert.deepEqual(got.bytes, new TextEncoder().encode(body));
  });
});
