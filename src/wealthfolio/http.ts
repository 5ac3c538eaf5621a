/**
 * One HTTP call to Wealthfolio's `/api/v1`, with a timeout, and retried with backoff when the
 * failure is worth retrying: no answer (refused, reset, timed out), 408, 429 (honouring
 * `retry-after`) and 5xx. Everything else is returned for the caller to interpret.
 *
 * Retrying a write is safe here because every activity carries its idempotency key: a bulk
 * call whose first attempt did land answers "Duplicate activity" the second time, and the push
 * step handles that by asking Wealthfolio which keys it has.
 */
import { getLogger } from "@logtape/logtape";
import { errorMessageOf, WealthfolioUnavailableError } from "./errors.ts";

/** When and how often to try again. */
export interface RetryPolicy {
  /** Attempts per call, the first included. */
  readonly attempts: number;
  /** The wait before the second attempt; doubled for each later one, up to `maxDelayMs`. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** A `retry-after` longer than this is not waited for: the call gives up at once. */
  readonly maxRetryAfterMs: number;
}

/** Four attempts over about 3.5 s; a login rate limit (12 s per token) is waited out. */
export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 4,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
};

/** How calls are made; `sleep` and `now` are injected so tests need not wait. */
export interface TransportOptions {
  /** `<base>/api/v1`. */
  readonly apiUrl: string;
  /** Per attempt, answer body included. */
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly sleep: (ms: number) => Promise<void>;
  /** Epoch milliseconds, for `retry-after` given as an HTTP date. */
  readonly now: () => number;
}

/** An answer, body read in full. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

/** What to send. `json` is the serialised body; `token` goes out as `Authorization: Bearer`. */
export interface HttpCall {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  /** Below `/api/v1`, e.g. `/activities/bulk`. */
  readonly path: string;
  readonly json?: string;
  readonly token?: string | null;
}

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);
const log = getLogger(["broker-sync", "wealthfolio"]);

/** Makes the call, retrying per the policy; throws WealthfolioUnavailableError when out of attempts. */
export async function send(o: TransportOptions, call: HttpCall): Promise<HttpAnswer> {
  const name = `${call.method} ${call.path}`;
  for (let attempt = 1;; attempt++) {
    let problem: string;
    let retryAfterMs: number | null = null;
    try {
      const answer = await once(o, call);
      if (!RETRYABLE.has(answer.status)) return answer;
      problem = `HTTP ${answer.status}${answer.body ? ` ${errorMessageOf(answer.body)}` : ""}`;
      retryAfterMs = retryAfter(answer.headers, o.now());
    } catch (e) {
      problem = describeFailure(e, o.timeoutMs);
    }
    if (retryAfterMs !== null && retryAfterMs > o.retry.maxRetryAfterMs) {
      throw new WealthfolioUnavailableError(
        name,
        `${problem}; asked to wait ${Math.ceil(retryAfterMs / 1000)} s, more than this run waits`,
      );
    }
    if (attempt >= o.retry.attempts) {
      throw new WealthfolioUnavailableError(name, `${problem} (gave up after ${attempt} attempts)`);
    }
    const backoff = Math.min(o.retry.maxDelayMs, o.retry.baseDelayMs * 2 ** (attempt - 1));
    const wait = Math.max(backoff, retryAfterMs ?? 0);
    log.warn("{call}: {problem}; attempt {next} of {attempts} in {wait} ms", {
      call: name,
      problem,
      next: attempt + 1,
      attempts: o.retry.attempts,
      wait,
    });
    await o.sleep(wait);
  }
}

async function once(o: TransportOptions, call: HttpCall): Promise<HttpAnswer> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (call.json !== undefined) headers["content-type"] = "application/json";
  if (call.token) headers.authorization = `Bearer ${call.token}`;
  const signal = AbortSignal.timeout(o.timeoutMs);
  const response = await fetch(`${o.apiUrl}${call.path}`, {
    method: call.method,
    headers,
    body: call.json,
    signal,
    redirect: "manual",
  });
  const body = await response.text();
  return { status: response.status, headers: response.headers, body };
}

function describeFailure(e: unknown, timeoutMs: number): string {
  if (e instanceof DOMException && (e.name === "TimeoutError" || e.name === "AbortError")) {
    return `no answer within ${timeoutMs} ms`;
  }
  if (e instanceof TypeError) return `no answer (${e.message})`;
  throw e;
}

/** `retry-after` (seconds or an HTTP date) in milliseconds, or null. */
export function retryAfter(headers: Headers, now: number): number | null {
  const value = headers.get("retry-after") ?? headers.get("x-ratelimit-after");
  if (value === null) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
