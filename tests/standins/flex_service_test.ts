import assert from "node:assert/strict";
import {
  defaultFlexStatus,
  FLEX_ERROR_MESSAGES,
  type FlexErrorCode,
  type FlexStandIn,
  type FlexStandInOptions,
  startFlexStandIn,
} from "./flex_service.ts";

const TOKEN = "tok-5ecr3t-0123456789";
const QUERY = "987654";
const UA = "Java/1.8 broker-sync/test";

/** A clock that moves 6.001 s per read: every call is admitted by the rate limiter. */
function relaxedClock(): () => number {
  let now = 0;
  return () => (now += 6_001);
}

/** A clock the test moves by hand. */
function manualClock(): { readonly clock: () => number; advance(ms: number): void } {
  let now = 1_000_000;
  return {
    clock: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

async function withFlex(
  options: Partial<FlexStandInOptions>,
  body: (flex: FlexStandIn) => Promise<void>,
): Promise<void> {
  const flex = await startFlexStandIn({
    token: TOKEN,
    queryId: QUERY,
    clock: relaxedClock(),
    ...options,
  });
  try {
    await body(flex);
  } finally {
    await flex.close();
  }
}

interface FlexAnswer {
  readonly http: number;
  readonly contentType: string | null;
  readonly text: string;
  readonly root: string | null;
  readonly status: string | null;
  readonly code: string | null;
  readonly message: string | null;
  readonly reference: string | null;
  readonly url: string | null;
  readonly timestamp: string | null;
}

function element(text: string, name: string): string | null {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(text)?.[1] ?? null;
}

async function get(url: string, init?: RequestInit): Promise<FlexAnswer> {
  const res = await fetch(url, { headers: { "user-agent": UA }, ...init });
  const text = await res.text();
  return {
    http: res.status,
    contentType: res.headers.get("content-type"),
    text,
    root: /<(?!\?|!)([A-Za-z]+)/.exec(text)?.[1] ?? null,
    status: element(text, "Status"),
    code: element(text, "ErrorCode"),
    message: element(text, "ErrorMessage"),
    reference: element(text, "ReferenceCode"),
    url: element(text, "Url")?.replaceAll("&amp;", "&") ?? null,
    timestamp: /timestamp='([^']*)'/.exec(text)?.[1] ?? null,
  };
}

function sendUrl(flex: FlexStandIn, extra = "", token = TOKEN, query = QUERY): string {
  return `${flex.baseUrl}/SendRequest?t=${token}&q=${query}&v=3${extra}`;
}

async function send(flex: FlexStandIn, extra = "&fd=20250101&td=20251231"): Promise<FlexAnswer> {
  return await get(sendUrl(flex, extra));
}

async function statement(url: string, reference: string, token = TOKEN): Promise<FlexAnswer> {
  return await get(`${url}?q=${reference}&t=${token}&v=3`);
}

function assertFlexFailure(a: FlexAnswer, code: string, status: "Fail" | "Warn"): void {
  assert.equal(a.http, 200, "Flex-level errors are HTTP 200");
  assert.equal(a.root, "FlexStatementResponse");
  assert.equal(a.status, status);
  assert.equal(a.code, code);
  assert.ok(a.timestamp, "a failure carries a timestamp too");
}

// ---- SendRequest -----------------------------------------------------------

Deno.test("SendRequest success: 200, single-quoted timestamp, numeric reference, GetStatement Url", async () => {
  await withFlex({}, async (flex) => {
    const a = await send(flex);
    assert.equal(a.http, 200);
    assert.match(a.contentType ?? "", /xml/);
    assert.equal(a.root, "FlexStatementResponse");
    assert.equal(a.status, "Success");
    assert.match(a.reference ?? "", /^\d{10}$/);
    assert.equal(a.url, `${flex.baseUrl}/GetStatement`);
    assert.match(a.timestamp ?? "", /^\d{1,2} [A-Z][a-z]+, \d{4} \d{1,2}:\d{2} [AP]M E[SD]T$/);
    assert.equal(a.code, null);
  });
});

Deno.test("every call is recorded with endpoint, path, params (token included) and User-Agent", async () => {
  await withFlex({}, async (flex) => {
    const a = await send(flex);
    await statement(a.url!, a.reference!);
    assert.equal(flex.calls.length, 2);
    const [s, g] = flex.calls;
    assert.equal(s.endpoint, "SendRequest");
    assert.equal(s.path, "/AccountManagement/FlexWebService/SendRequest");
    assert.deepEqual(s.params, { t: TOKEN, q: QUERY, v: "3", fd: "20250101", td: "20251231" });
    assert.equal(s.userAgent, UA);
    assert.equal(g.endpoint, "GetStatement");
    assert.deepEqual(g.params, { q: a.reference, t: TOKEN, v: "3" });
    assert.ok(g.at > s.at, "timestamps come from the clock, in order");
  });
});

Deno.test("a wrong or missing token is Fail 1015 'Token is invalid.' with HTTP 200", async () => {
  await withFlex({}, async (flex) => {
    const wrong = await get(sendUrl(flex, "", "not-the-token"));
    assertFlexFailure(wrong, "1015", "Fail");
    assert.equal(wrong.message, "Token is invalid.");
    assertFlexFailure(await get(`${flex.baseUrl}/SendRequest?q=${QUERY}&v=3`), "1015", "Fail");
  });
});

Deno.test("a wrong query id is Fail 1014 'Query is invalid.'", async () => {
  await withFlex({}, async (flex) => {
    const a = await get(sendUrl(flex, "", TOKEN, "111"));
    assertFlexFailure(a, "1014", "Fail");
    assert.equal(a.message, "Query is invalid.");
  });
});

Deno.test("a missing v still answers (v2 fallback) and the call shows v was absent", async () => {
  await withFlex({}, async (flex) => {
    const a = await get(`${flex.baseUrl}/SendRequest?t=${TOKEN}&q=${QUERY}`);
    assert.equal(a.status, "Success");
    assert.equal("v" in flex.calls[0].params, false);
  });
});

Deno.test("windows: up to 365 days inclusive pass; longer or malformed windows are Fail 1020", async () => {
  await withFlex({}, async (flex) => {
    const ok = ["&fd=20250101&td=20251231", "&p=365", "&p=1", "&fd=20250301&td=20250301", ""];
    for (const extra of ok) assert.equal((await send(flex, extra)).status, "Success", extra);
    const refused = [
      "&fd=20240101&td=20241231", // 366 days (leap year)
      "&fd=20240101&td=20250101",
      "&p=366",
      "&p=0",
      "&p=-5",
      "&p=7.5",
      "&fd=20250101", // td missing
      "&td=20250101", // fd missing
      "&fd=20250230&td=20250301", // not a date
      "&fd=2025-01-01&td=2025-02-01", // wrong format
      "&fd=20250301&td=20250201", // reversed
    ];
    for (const extra of refused) {
      const a = await send(flex, extra);
      assertFlexFailure(a, "1020", "Fail");
      assert.equal(a.message, "Invalid request or unable to validate request.", extra);
    }
  });
});

Deno.test("the Url points at options.urlHost when given", async () => {
  await withFlex(
    { urlHost: "https://gdcdyn.interactivebrokers.com/x/GetStatement?a=1&b=2" },
    async (flex) => {
      const a = await send(flex);
      assert.equal(a.url, "https://gdcdyn.interactivebrokers.com/x/GetStatement?a=1&b=2");
    },
  );
});

// ---- GetStatement ----------------------------------------------------------

Deno.test("GetStatement with an unknown reference is Fail 1017", async () => {
  await withFlex({}, async (flex) => {
    const a = await statement(`${flex.baseUrl}/GetStatement`, "1234567890");
    assertFlexFailure(a, "1017", "Fail");
    assert.equal(a.message, "Reference code is invalid.");
    assertFlexFailure(await get(`${flex.baseUrl}/GetStatement?t=${TOKEN}&v=3`), "1017", "Fail");
  });
});

Deno.test("GetStatement with a wrong token is Fail 1015 even for a good reference", async () => {
  await withFlex({}, async (flex) => {
    const a = await send(flex);
    assertFlexFailure(await statement(a.url!, a.reference!, "nope"), "1015", "Fail");
  });
});

Deno.test("generationPolls: Warn 1019 that many times per reference, then the statement", async () => {
  await withFlex({ generationPolls: 2 }, async (flex) => {
    const first = await send(flex);
    for (let i = 0; i < 2; i++) {
      const poll = await statement(first.url!, first.reference!);
      assertFlexFailure(poll, "1019", "Warn");
      assert.equal(poll.message, "Statement generation in progress. Please try again shortly.");
    }
    const done = await statement(first.url!, first.reference!);
    assert.equal(done.http, 200);
    assert.equal(done.root, "FlexQueryResponse");
    // The reference stays valid: a repeat fetch returns the statement again.
    assert.equal((await statement(first.url!, first.reference!)).root, "FlexQueryResponse");
    // A new reference generates afresh.
    const second = await send(flex);
    assert.notEqual(second.reference, first.reference);
    assert.equal((await statement(second.url!, second.reference!)).code, "1019");
  });
});

Deno.test("the default statement echoes the requested fd/td window for U1234567", async () => {
  await withFlex({}, async (flex) => {
    const a = await send(flex, "&fd=20240315&td=20250314");
    const s = await statement(a.url!, a.reference!);
    assert.match(s.text, /^<\?xml version="1.0" encoding="UTF-8"\?>/);
    assert.match(s.text, /<FlexQueryResponse queryName="[^"]*" type="AF">/);
    assert.match(
      s.text,
      /<FlexStatement accountId="U1234567" fromDate="2024-03-15" toDate="2025-03-14"/,
    );
  });
});

Deno.test("the default statement for p=N spans N days ending today; fd/td win over p", async () => {
  await withFlex({}, async (flex) => {
    const a = await send(flex, "&p=30");
    const s = await statement(a.url!, a.reference!);
    const from = /fromDate="([^"]+)"/.exec(s.text)![1];
    const to = /toDate="([^"]+)"/.exec(s.text)![1];
    assert.equal((Date.parse(to) - Date.parse(from)) / 86_400_000, 29);
    const both = await send(flex, "&fd=20250101&td=20250131&p=7");
    const t = await statement(both.url!, both.reference!);
    assert.match(t.text, /fromDate="2025-01-01" toDate="2025-01-31"/);
  });
});

Deno.test("setStatement gets the SendRequest's window and query; bytes are served as given", async () => {
  await withFlex({}, async (flex) => {
    const seen: unknown[] = [];
    const bytes = new TextEncoder().encode("<FlexQueryResponse>caf\u00e9</FlexQueryResponse>");
    flex.setStatement((req) => {
      seen.push(req);
      return bytes;
    });
    const a = await send(flex, "&fd=20250101&td=20250630");
    const res = await fetch(`${a.url}?q=${a.reference}&t=${TOKEN}&v=3`);
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), bytes);
    assert.deepEqual(seen, [{ fd: "20250101", td: "20250630", p: null, query: QUERY }]);
  });
});

// ---- legacy paths ----------------------------------------------------------

Deno.test("legacy FlexStatementService paths answer Fail 1001 (post-May-2026)", async () => {
  await withFlex({}, async (flex) => {
    const origin = new URL(flex.baseUrl).origin;
    for (const name of ["SendRequest", "GetStatement"]) {
      const path = `/Universal/servlet/FlexStatementService.${name}`;
      const a = await get(`${origin}${path}?t=${TOKEN}&q=${QUERY}&v=3`);
      assertFlexFailure(a, "1001", "Fail");
      assert.equal(
        a.message,
        "Statement could not be generated at this time. Please try again shortly.",
      );
      assert.equal(flex.calls.at(-1)?.path, path);
      assert.equal(flex.calls.at(-1)?.endpoint, name);
    }
  });
});

Deno.test("with legacyPathAnswers1001: false the legacy paths work end to end", async () => {
  await withFlex({ legacyPathAnswers1001: false }, async (flex) => {
    const origin = new URL(flex.baseUrl).origin;
    const a = await get(
      `${origin}/Universal/servlet/FlexStatementService.SendRequest?t=${TOKEN}&q=${QUERY}&v=3`,
    );
    assert.equal(a.status, "Success");
    assert.equal(a.url, `${origin}/Universal/servlet/FlexStatementService.GetStatement`);
    assert.equal((await statement(a.url!, a.reference!)).root, "FlexQueryResponse");
  });
});

// ---- rate limit --------------------------------------------------------------

Deno.test("rate limit: a second call within 1 s is Warn 1018; at 1 s it is admitted", async () => {
  const time = manualClock();
  await withFlex({ clock: time.clock }, async (flex) => {
    assert.equal((await send(flex)).status, "Success");
    time.advance(999);
    const fast = await send(flex);
    assertFlexFailure(fast, "1018", "Warn");
    assert.equal(
      fast.message,
      "Too many requests have been made from this token. Please try again shortly.",
    );
    time.advance(1); // 1000 ms after the last admitted call (throttled calls do not count)
    assert.equal((await send(flex)).status, "Success");
  });
});

Deno.test("rate limit: the 11th call within 60 s is Warn 1018, SendRequest and GetStatement alike", async () => {
  const time = manualClock();
  await withFlex({ clock: time.clock }, async (flex) => {
    const a = await send(flex);
    for (let i = 1; i < 10; i++) {
      time.advance(5_000);
      const s = i % 2 === 0 ? await send(flex) : await statement(a.url!, a.reference!);
      assert.notEqual(s.code, "1018", `call ${i + 1}`);
    }
    time.advance(5_000); // 50 s after the first call
    assertFlexFailure(await statement(a.url!, a.reference!), "1018", "Warn");
    time.advance(9_999); // 59.999 s after the first
    assertFlexFailure(await send(flex), "1018", "Warn");
    time.advance(1); // the first call leaves the window
    assert.equal((await send(flex)).status, "Success");
    assert.equal(flex.calls.length, 13);
  });
});

Deno.test("rate limit: rateLimitPerMinute is configurable; a wrong token is refused before counting", async () => {
  const time = manualClock();
  await withFlex({ clock: time.clock, rateLimitPerMinute: 2 }, async (flex) => {
    assert.equal((await send(flex)).status, "Success");
    time.advance(100);
    assertFlexFailure(await get(sendUrl(flex, "", "other-token")), "1015", "Fail");
    time.advance(1_000);
    assert.equal((await send(flex)).status, "Success");
    time.advance(1_000);
    assertFlexFailure(await send(flex), "1018", "Warn");
  });
});

// ---- scripted steps --------------------------------------------------------

Deno.test("scripted error: every table code, contract text, Warn for retry codes and Fail otherwise", async () => {
  await withFlex({}, async (flex) => {
    const codes = Object.keys(FLEX_ERROR_MESSAGES) as FlexErrorCode[];
    flex.script(codes.map((code) => ({ kind: "error", code })));
    for (const code of codes) {
      const a = await send(flex);
      const expected =
        ["1001", "1004", "1005", "1006", "1007", "1008", "1009", "1018", "1019", "1021"]
            .includes(code)
          ? "Warn"
          : "Fail";
      assert.equal(defaultFlexStatus(code), expected);
      assertFlexFailure(a, code, expected);
      assert.equal(a.message, FLEX_ERROR_MESSAGES[code]);
    }
    assert.equal(FLEX_ERROR_MESSAGES["1012"], "Token has expired.");
    assert.equal(FLEX_ERROR_MESSAGES["1003"], "Statement is not available.");
    assert.equal((await send(flex)).status, "Success", "an empty script behaves normally");
  });
});

Deno.test("scripted error: status can be overridden", async () => {
  await withFlex({}, async (flex) => {
    flex.script([{ kind: "error", code: "1019", status: "Fail" }, {
      kind: "error",
      code: "1012",
      status: "Warn",
    }]);
    assertFlexFailure(await send(flex), "1019", "Fail");
    assertFlexFailure(await send(flex), "1012", "Warn");
  });
});

Deno.test("scripted unknownCode answers that code and message, Fail by default", async () => {
  await withFlex({}, async (flex) => {
    flex.script([{ kind: "unknownCode", code: "1099", message: "Something <new> & odd" }]);
    const a = await send(flex);
    assertFlexFailure(a, "1099", "Fail");
    assert.equal(a.message, "Something &lt;new&gt; &amp; odd");
  });
});

Deno.test("scripted html: a 404 or 503 HTML page, not XML", async () => {
  await withFlex({}, async (flex) => {
    flex.script([{ kind: "html", status: 404 }, { kind: "html", status: 503 }]);
    for (const status of [404, 503]) {
      const a = await send(flex);
      assert.equal(a.http, status);
      assert.match(a.contentType ?? "", /^text\/html/);
      assert.match(a.text, /<html>/i);
      assert.equal(a.status, null);
    }
  });
});

Deno.test("scripted http: a raw status with the given body (default: reason phrase)", async () => {
  await withFlex({}, async (flex) => {
    flex.script([{ kind: "http", status: 500, body: "boom" }, { kind: "http", status: 502 }]);
    const a = await send(flex);
    assert.equal(a.http, 500);
    assert.equal(a.text, "boom");
    const b = await send(flex);
    assert.equal(b.http, 502);
    assert.equal(b.text, "Bad Gateway");
  });
});

Deno.test("scripted statement: this exact body", async () => {
  await withFlex({}, async (flex) => {
    const a = await send(flex);
    const body = "<FlexQueryResponse queryName='x' type='TCF'/>";
    flex.script([{ kind: "statement", body }]);
    const s = await statement(a.url!, a.reference!);
    assert.equal(s.http, 200);
    assert.equal(s.text, body);
  });
});

Deno.test("scripted delay: the normal answer, at least ms later", async () => {
  await withFlex({}, async (flex) => {
    flex.script([{ kind: "delay", ms: 150 }]);
    const started = performance.now();
    const a = await send(flex);
    assert.ok(performance.now() - started >= 140);
    assert.equal(a.status, "Success");
  });
});

Deno.test("a step restricted with on waits for its endpoint; other calls behave normally", async () => {
  await withFlex({}, async (flex) => {
    flex.script([{ kind: "error", code: "1019", on: "GetStatement" }, {
      kind: "error",
      code: "1009",
    }]);
    const a = await send(flex);
    assert.equal(a.status, "Success", "the head step waits for a GetStatement");
    assertFlexFailure(await statement(a.url!, a.reference!), "1019", "Warn");
    assertFlexFailure(await send(flex), "1009", "Warn");
    assert.equal((await statement(a.url!, a.reference!)).root, "FlexQueryResponse");
  });
});

Deno.test("scripted stall: headers and N bytes arrive, then a fetch with AbortSignal.timeout gives up", async () => {
  await withFlex({}, async (flex) => {
    const a = await send(flex);
    flex.script([{ kind: "stall", afterBytes: 39, on: "GetStatement" }]);
    const res = await fetch(`${a.url}?q=${a.reference}&t=${TOKEN}&v=3`, {
      signal: AbortSignal.timeout(300),
    });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const chunk = await reader.read();
    assert.equal(chunk.value?.length, 39);
    assert.equal(new TextDecoder().decode(chunk.value), '<?xml version="1.0" encoding="UTF-8"?>\n');
    await assert.rejects(reader.read(), (e: unknown) => (e as Error).name === "TimeoutError");
  });
});

Deno.test("scripted stall with 0 bytes: the response headers arrive, the body never does", async () => {
  await withFlex({}, async (flex) => {
    flex.script([{ kind: "stall", afterBytes: 0 }]);
    const res = await fetch(sendUrl(flex), { signal: AbortSignal.timeout(200) });
    assert.equal(res.status, 200);
    await assert.rejects(res.text(), (e: unknown) => (e as Error).name === "TimeoutError");
  });
});

Deno.test("close() ends a stall the client never abandoned", async () => {
  const flex = await startFlexStandIn({ token: TOKEN, queryId: QUERY, clock: relaxedClock() });
  flex.script([{ kind: "stall", afterBytes: 10 }]);
  const res = await fetch(sendUrl(flex));
  const text = res.text();
  await flex.close();
  await assert.rejects(text);
  await flex.close(); // idempotent
});

Deno.test("scripted truncate: a complete 200 response holding the first N bytes of the statement", async () => {
  await withFlex({}, async (flex) => {
    const a = await send(flex, "&fd=20250101&td=20251231");
    flex.script([{ kind: "truncate", bytes: 120, on: "GetStatement" }]);
    const started = performance.now();
    const cut = await get(`${a.url}?q=${a.reference}&t=${TOKEN}&v=3`, {
      signal: AbortSignal.timeout(2_000),
    });
    assert.ok(performance.now() - started < 2_000);
    assert.equal(cut.http, 200);
    const full = await statement(a.url!, a.reference!);
    assert.equal(new TextEncoder().encode(cut.text).length, 120);
    assert.equal(cut.text, full.text.slice(0, 120));
    assert.ok(!cut.text.includes("</FlexQueryResponse>"));
  });
});

// ---- other paths and methods ----------------------------------------------

Deno.test("other paths are HTML 404 and other methods HTML 405, recorded as 'other'", async () => {
  await withFlex({}, async (flex) => {
    flex.script([{ kind: "error", code: "1009" }]);
    const a = await get(`${flex.baseUrl}/Nope?t=${TOKEN}`);
    assert.equal(a.http, 404);
    assert.match(a.contentType ?? "", /^text\/html/);
    const b = await get(sendUrl(flex), { method: "POST" });
    assert.equal(b.http, 405);
    assert.deepEqual(flex.calls.map((c) => c.endpoint), ["other", "other"]);
    assertFlexFailure(await send(flex), "1009", "Warn"); // the step was not consumed
  });
});

Deno.test("the default clock is performance.now()", async () => {
  const flex = await startFlexStandIn({ token: TOKEN, queryId: QUERY });
  try {
    const before = performance.now();
    await send(flex);
    const after = performance.now();
    const at = flex.calls[0].at;
    assert.ok(at >= before && at <= after, `${before} <= ${at} <= ${after}`);
  } finally {
    await flex.close();
  }
});

Deno.test("the stand-in prints nothing (so never the token) across normal, error and stalled calls", async () => {
  const printed: unknown[] = [];
  const methods = ["log", "error", "warn", "info", "debug"] as const;
  const saved = methods.map((m) => console[m]);
  for (const m of methods) console[m] = (...args: unknown[]) => void printed.push(...args);
  try {
    await withFlex({ generationPolls: 1 }, async (flex) => {
      const a = await send(flex);
      await statement(a.url!, a.reference!);
      await statement(a.url!, a.reference!);
      await get(sendUrl(flex, "", "wrong"));
      flex.script([{ kind: "html", status: 503 }, { kind: "stall", afterBytes: 5 }]);
      await send(flex);
      const res = await fetch(sendUrl(flex));
      void res.text().catch(() => {});
    });
  } finally {
    methods.forEach((m, i) => (console[m] = saved[i]));
  }
  assert.deepEqual(printed, []);
});
