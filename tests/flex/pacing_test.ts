import assert from "node:assert/strict";
import {
  backoffDelay,
  DEFAULT_BACKOFF,
  THROTTLED_MIN_MS,
  throttledDelay,
  TokenRateLimiter,
} from "../../src/flex/pacing.ts";
import { FLEX_CODES, flexCodeRule, isRetryable } from "../../src/flex/service_codes.ts";
import { FLEX_ERROR_MESSAGES } from "../standins/flex_service.ts";
import { VirtualClock } from "./_virtual_clock.ts";

Deno.test("rate limiter: calls at once are spaced 1 s apart, plus a 250 ms margin", async () => {
  const clock = new VirtualClock(0);
  const limiter = new TokenRateLimiter(clock);
  const at: number[] = [];
  for (let i = 0; i < 3; i++) {
    await limiter.acquire("t");
    at.push(clock.now());
  }
  assert.deepEqual(at, [0, 1250, 2500]);
});

Deno.test("rate limiter: the 11th call in a minute waits until the first has left the minute", async () => {
  const clock = new VirtualClock(0);
  const limiter = new TokenRateLimiter(clock);
  const at: number[] = [];
  for (let i = 0; i < 12; i++) {
    await limiter.acquire("t");
    at.push(clock.now());
  }
  assert.deepEqual(
    at,
    [0, 1250, 2500, 3750, 5000, 6250, 7500, 8750, 10_000, 11_250, 60_250, 61_500],
  );
});

Deno.test("rate limiter: time spent elsewhere counts, and each token has its own budget", async () => {
  const clock = new VirtualClock(0);
  const limiter = new TokenRateLimiter(clock);
  assert.equal(await limiter.acquire("a"), 0);
  await clock.sleep(5000);
  assert.equal(await limiter.acquire("a"), 0, "5 s later no wait is needed");
  assert.equal(await limiter.acquire("b"), 0, "another token is not held back by a's calls");
  assert.equal(await limiter.acquire("a"), 1250);
});

Deno.test("backoff doubles from 5 s to a 30 s cap; jitter stays within ±20 %", () => {
  const middle = () => 0.5;
  assert.deepEqual(
    [0, 1, 2, 3, 4, 9].map((n) => backoffDelay(n, DEFAULT_BACKOFF, middle)),
    [5000, 10000, 20000, 30000, 30000, 30000],
  );
  assert.equal(backoffDelay(0, DEFAULT_BACKOFF, () => 0), 4000);
  assert.equal(backoffDelay(0, DEFAULT_BACKOFF, () => 0.999999), 6000);
  assert.equal(backoffDelay(3, DEFAULT_BACKOFF, () => 0.999999), 36000);
  assert.equal(backoffDelay(0, { ...DEFAULT_BACKOFF, baseMs: 0 }, middle), 0);
});

Deno.test("a 1018 waits at least 10 s whatever the jitter", () => {
  assert.equal(throttledDelay(DEFAULT_BACKOFF, () => 0), THROTTLED_MIN_MS);
  assert.equal(THROTTLED_MIN_MS, 10_000);
  for (const r of [0.1, 0.5, 0.9]) {
    const ms = throttledDelay(DEFAULT_BACKOFF, () => r);
    assert.ok(ms >= 10_000 && ms <= 14_000, `${ms}`);
  }
});

Deno.test("the code table covers every code of the contract, and classifies as the contract says", () => {
  assert.deepEqual(Object.keys(FLEX_CODES).sort(), Object.keys(FLEX_ERROR_MESSAGES).sort());
  const retry = Object.keys(FLEX_CODES).filter((c) => isRetryable(flexCodeRule(c)));
  assert.deepEqual(retry, [
    "1001",
    "1004",
    "1005",
    "1006",
    "1007",
    "1008",
    "1009",
    "1018",
    "1019",
    "1021",
  ]);
  assert.equal(flexCodeRule("1003").class, "refused", "1003 is not an auth error");
  assert.equal(flexCodeRule("1012").class, "token-expired");
  assert.equal(flexCodeRule("1015").class, "token-invalid");
  assert.equal(flexCodeRule("1013").class, "ip-restricted");
  assert.equal(flexCodeRule("1017").class, "restart");
  assert.equal(flexCodeRule("1025").class, "refused");
  assert.equal(flexCodeRule(null).class, "refused");
  assert.ok(!isRetryable(flexCodeRule("1025")), "unknown codes are never retried");
});
