/**
 * The Flex Web Service client (contract `ibkr-flex.md` §1): SendRequest with an explicit window
 * and `v=3`, then GetStatement from the `<Url>` it names, polled with backoff until the statement
 * is ready. Every answer is classified by its XML through the code table
 * (`service_codes.ts`); the per-token rate limit, the backoff and the deadline run on an injected
 * clock. The token never leaves this module except in the query string sent to IBKR.
 */
import { HttpFailure, httpGet, type HttpLimits, printableUrl } from "./http_get.ts";
import {
  type Backoff,
  backoffDelay,
  type Clock,
  DEFAULT_BACKOFF,
  throttledDelay,
  type TokenRateLimiter,
} from "./pacing.ts";
import { readServiceAnswer, type ServiceAnswer } from "./service_answer.ts";
import { type FlexCodeRule, flexCodeRule, isRetryable } from "./service_codes.ts";
import {
  type FlexEndpoint,
  type FlexRefusalClass,
  FlexServiceError,
  FlexUnexpectedAnswerError,
  FlexUnreachableError,
} from "./service_errors.ts";
import { compactDate, type FlexWindow } from "./windows.ts";

/** IBKR's current endpoint (May 2026 on); the legacy servlet answers 1001 to everyone. */
export const DEFAULT_FLEX_BASE_URL =
  "https://ndcdyn.interactivebrokers.com/AccountManagement/FlexWebService";

/** Who to ask, as whom. */
export interface FlexServiceSettings {
  readonly token: string;
  readonly queryId: string;
  /** The service's base, e.g. DEFAULT_FLEX_BASE_URL; `/SendRequest` is appended. */
  readonly baseUrl: URL;
  /** IBKR wants "Technology/Version" (contract §1.1). */
  readonly userAgent: string;
}

/** How patient the client is with one statement. */
export interface FlexSchedule {
  /** Wait after SendRequest before the first GetStatement (IBKR needs ~4–5 s, §1.4). */
  readonly firstPollMs: number;
  readonly backoff: Backoff;
  /** Everything for one statement (SendRequest, polls, retries) must fit in this. */
  readonly deadlineMs: number;
  /** "Not ready yet" answers accepted per statement before giving up. */
  readonly maxPolls: number;
  /** Consecutive network failures or HTTP errors accepted per call before giving up. */
  readonly maxTransportFailures: number;
  /** 1001 answers accepted per statement: past that, the endpoint is suspect (§1.3). */
  readonly max1001: number;
  readonly http: HttpLimits;
}

/** The contract's schedule: first poll after 5 s, 5/10/20/30 s backoff, 10 polls, 5 minutes. */
export const DEFAULT_SCHEDULE: FlexSchedule = {
  firstPollMs: 5_000,
  backoff: DEFAULT_BACKOFF,
  deadlineMs: 300_000,
  maxPolls: 10,
  maxTransportFailures: 3,
  max1001: 3,
  http: { responseTimeoutMs: 30_000, stallTimeoutMs: 30_000, maxBodyBytes: 512 * 1024 * 1024 },
};

/** What the client did, for logs (never carries the token). */
export type FlexEvent =
  | { readonly kind: "call"; readonly endpoint: FlexEndpoint; readonly url: string }
  | {
    readonly kind: "answer";
    readonly endpoint: FlexEndpoint;
    readonly answer: string;
    /** IBKR's `<ErrorCode>`, when it answered with one (what `ibkr_flex_error` counts). */
    readonly code: string | null;
  }
  | { readonly kind: "wait"; readonly ms: number; readonly why: string }
  | { readonly kind: "url-refused"; readonly host: string; readonly using: string }
  | { readonly kind: "restart"; readonly why: string };

export interface FlexClientDeps {
  readonly clock: Clock;
  /** Shared by every client of the process, so windows and retries pace together. */
  readonly limiter: TokenRateLimiter;
  /** [0, 1), for jitter. */
  readonly random: () => number;
  readonly onEvent?: (event: FlexEvent) => void;
}

/** A statement as IBKR sent it, byte for byte. */
export interface FetchedStatement {
  readonly bytes: Uint8Array;
  readonly referenceCode: string;
  /** HTTP calls this statement took. */
  readonly calls: number;
  /** Where GetStatement was asked (no query string). */
  readonly statementUrl: string;
}

/** What one SendRequest says about a token (verify-token). */
export type TokenVerdict =
  | "valid"
  | "expired"
  | "invalid"
  | "ip-restricted"
  | "service-inactive"
  | "query-invalid"
  | "account-invalid"
  | "undetermined"
  | "refused"
  | "unreachable";

export interface TokenCheck {
  readonly verdict: TokenVerdict;
  /** IBKR's error code and text, when it answered with one. */
  readonly code: string | null;
  readonly ibkrMessage: string | null;
  /** What went wrong or what to do, in our words. */
  readonly detail: string | null;
}

const VERDICT_OF: Readonly<Record<FlexRefusalClass, TokenVerdict>> = {
  "token-expired": "expired",
  "token-invalid": "invalid",
  "ip-restricted": "ip-restricted",
  "service-inactive": "service-inactive",
  "query-invalid": "query-invalid",
  "account-invalid": "account-invalid",
  "refused": "refused",
};

/** Progress of one statement against its deadline. */
class Attempt {
  calls = 0;
  answers1001 = 0;
  last = "no answer yet";
  constructor(readonly deadline: number, readonly started: number) {}
}

/**
 * A client for one token and query.
 *
 * @example
 * const client = new FlexServiceClient(settings, { clock: systemClock, limiter, random: Math.random });
 * const statement = await client.fetchStatement({ from: "2025-01-01", to: "2025-12-31" });
 */
export class FlexServiceClient {
  readonly #settings: FlexServiceSettings;
  readonly #deps: FlexClientDeps;
  readonly #schedule: FlexSchedule;
  #callsMade = 0;

  constructor(
    settings: FlexServiceSettings,
    deps: FlexClientDeps,
    schedule: FlexSchedule = DEFAULT_SCHEDULE,
  ) {
    this.#settings = settings;
    this.#deps = deps;
    this.#schedule = schedule;
  }

  /** HTTP calls this client has made, failed ones included. */
  get callsMade(): number {
    return this.#callsMade;
  }

  /** Fetches the statement of `window`, or throws a typed error saying why not. */
  async fetchStatement(window: FlexWindow): Promise<FetchedStatement> {
    const now = this.#deps.clock.now();
    const attempt = new Attempt(now + this.#schedule.deadlineMs, now);
    for (let restarted = false;; restarted = true) {
      const reference = await this.#requestReference(window, attempt);
      const statementUrl = this.#statementUrl(reference.url);
      await this.#wait(
        "GetStatement",
        attempt,
        this.#schedule.firstPollMs,
        "IBKR generates the statement",
      );
      let polls = 0;
      for (;;) {
        const url = new URL(statementUrl);
        url.searchParams.set("q", reference.referenceCode);
        url.searchParams.set("t", this.#settings.token);
        url.searchParams.set("v", "3");
        const answer = await this.#call("GetStatement", url, attempt);
        if (answer.kind === "statement") {
          return {
            bytes: answer.body,
            referenceCode: reference.referenceCode,
            calls: attempt.calls,
            statementUrl: printableUrl(statementUrl),
          };
        }
        if (answer.kind === "reference") {
          throw new FlexUnexpectedAnswerError(
            "GetStatement",
            "answered with a reference code instead of a statement",
          );
        }
        const rule = flexCodeRule(answer.code);
        if (rule.class === "restart" && !restarted) {
          this.#event({ kind: "restart", why: `GetStatement answered ${answer.code}` });
          break;
        }
        polls = await this.#retryOrThrow("GetStatement", answer, rule, attempt, polls);
      }
    }
  }

  /** One SendRequest, no retry: what IBKR says about the token (nothing is fetched). */
  async checkToken(window: FlexWindow): Promise<TokenCheck> {
    await this.#deps.limiter.acquire(this.#settings.token);
    this.#callsMade++;
    const url = this.#sendRequestUrl(window);
    this.#event({ kind: "call", endpoint: "SendRequest", url: printableUrl(url) });
    let answer: ServiceAnswer;
    let status: number;
    try {
      const http = await httpGet(url, this.#headers(), this.#schedule.http);
      answer = this.#read(http.body);
      status = http.status;
    } catch (e) {
      if (!(e instanceof HttpFailure)) throw e;
      return {
        verdict: "unreachable",
        code: null,
        ibkrMessage: null,
        detail: this.#clean(e.message),
      };
    }
    this.#event({
      kind: "answer",
      endpoint: "SendRequest",
      answer: answerText(answer, status),
      code: errorCodeOf(answer),
    });
    switch (answer.kind) {
      case "reference":
        return { verdict: "valid", code: null, ibkrMessage: null, detail: null };
      case "statement":
        return {
          verdict: "unreachable",
          code: null,
          ibkrMessage: null,
          detail: "SendRequest answered with a statement: is IBKR_FLEX_BASE_URL right?",
        };
      case "unexpected":
        return {
          verdict: "unreachable",
          code: null,
          ibkrMessage: null,
          detail: `HTTP ${status}: ${answer.detail}`,
        };
    }
    const rule = flexCodeRule(answer.code);
    const message = answer.message;
    if (isRetryable(rule) || rule.class === "restart") {
      return { verdict: "undetermined", code: answer.code, ibkrMessage: message, detail: rule.fix };
    }
    return {
      verdict: VERDICT_OF[rule.class as FlexRefusalClass],
      code: answer.code,
      ibkrMessage: message,
      detail: rule.fix,
    };
  }

  async #requestReference(
    window: FlexWindow,
    attempt: Attempt,
  ): Promise<{ referenceCode: string; url: string | null }> {
    let retries = 0;
    for (;;) {
      const answer = await this.#call("SendRequest", this.#sendRequestUrl(window), attempt);
      if (answer.kind === "reference") return answer;
      if (answer.kind === "statement") {
        throw new FlexUnexpectedAnswerError(
          "SendRequest",
          "answered with a statement instead of a reference code: is IBKR_FLEX_BASE_URL right?",
        );
      }
      retries = await this.#retryOrThrow(
        "SendRequest",
        answer,
        flexCodeRule(answer.code),
        attempt,
        retries,
      );
    }
  }

  /** Waits as the code asks and returns the new count of not-ready answers, or throws. */
  async #retryOrThrow(
    endpoint: FlexEndpoint,
    answer: { code: string | null; message: string | null },
    rule: FlexCodeRule,
    attempt: Attempt,
    notReady: number,
  ): Promise<number> {
    const message = answer.message;
    if (!isRetryable(rule)) {
      const refusal: FlexRefusalClass = rule.class === "restart"
        ? "refused"
        : rule.class as FlexRefusalClass;
      const fix = rule.class === "restart"
        ? "the reference code was invalid twice, even after a new SendRequest; run again later"
        : rule.fix;
      throw new FlexServiceError(endpoint, refusal, answer.code, message, fix);
    }
    if (rule.class === "throttled") {
      await this.#wait(
        endpoint,
        attempt,
        throttledDelay(this.#schedule.backoff, this.#deps.random),
        `IBKR answered ${answer.code}: too many requests for this token`,
      );
      return notReady;
    }
    if (answer.code === "1001" && ++attempt.answers1001 >= this.#schedule.max1001) {
      throw new FlexUnreachableError(
        endpoint,
        `IBKR answered 1001 "${message ?? ""}" ${attempt.answers1001} times — ${rule.fix}`,
      );
    }
    const count = notReady + 1;
    if (count >= this.#schedule.maxPolls) {
      throw new FlexUnreachableError(
        endpoint,
        `still not ready after ${count} answers (last: ${answer.code} "${message ?? ""}"); ` +
          "IBKR may be slow today: run again later",
      );
    }
    await this.#wait(
      endpoint,
      attempt,
      backoffDelay(count - 1, this.#schedule.backoff, this.#deps.random),
      `IBKR answered ${answer.code}: not ready`,
    );
    return count;
  }

  /**
   * One call, paced by the rate limiter, retrying network failures and HTTP errors without Flex
   * XML. Returns the classified answer; a statement comes with its bytes.
   */
  async #call(
    endpoint: FlexEndpoint,
    url: URL,
    attempt: Attempt,
  ): Promise<Exclude<ServiceAnswer, { kind: "statement" | "unexpected" }> | StatementAnswer> {
    for (let failures = 0;;) {
      const allowedAt = this.#deps.limiter.nextAllowedAt(this.#settings.token);
      if (allowedAt > attempt.deadline) this.#giveUp(endpoint, attempt);
      await this.#deps.limiter.acquire(this.#settings.token);
      attempt.calls++;
      this.#callsMade++;
      this.#event({ kind: "call", endpoint, url: printableUrl(url) });
      let transient: string;
      try {
        const http = await httpGet(url, this.#headers(), this.#schedule.http);
        const answer = this.#read(http.body);
        attempt.last = answerText(answer, http.status);
        this.#event({ kind: "answer", endpoint, answer: attempt.last, code: errorCodeOf(answer) });
        if (answer.kind === "statement") return { kind: "statement", body: http.body };
        if (answer.kind !== "unexpected") return answer;
        const detail = `HTTP ${http.status}: ${answer.detail}`;
        // A server error page may clear up; anything else that is not Flex XML will not.
        if (http.status < 500 && http.status !== 429) {
          throw new FlexUnexpectedAnswerError(endpoint, detail);
        }
        transient = detail;
      } catch (e) {
        if (!(e instanceof HttpFailure)) throw e;
        if (e.kind === "redirect" || e.kind === "too-large") {
          throw new FlexUnexpectedAnswerError(endpoint, this.#clean(e.message));
        }
        transient = this.#clean(e.message);
        attempt.last = transient;
      }
      failures++;
      if (failures >= this.#schedule.maxTransportFailures) {
        throw new FlexUnreachableError(endpoint, `${transient} (${failures} attempts)`);
      }
      await this.#wait(
        endpoint,
        attempt,
        backoffDelay(failures - 1, this.#schedule.backoff, this.#deps.random),
        transient,
      );
    }
  }

  async #wait(endpoint: FlexEndpoint, attempt: Attempt, ms: number, why: string): Promise<void> {
    if (ms <= 0) return;
    if (this.#deps.clock.now() + ms > attempt.deadline) this.#giveUp(endpoint, attempt);
    this.#event({ kind: "wait", ms, why });
    await this.#deps.clock.sleep(ms);
  }

  #giveUp(endpoint: FlexEndpoint, attempt: Attempt): never {
    const spent = Math.round((this.#deps.clock.now() - attempt.started) / 1000);
    throw new FlexUnreachableError(
      endpoint,
      `gave up after ${attempt.calls} calls in ${spent} s (the deadline is ${
        Math.round(this.#schedule.deadlineMs / 1000)
      } s per statement); last answer: ${attempt.last}`,
    );
  }

  #sendRequestUrl(window: FlexWindow): URL {
    const url = new URL(`${this.#settings.baseUrl.href.replace(/\/+$/, "")}/SendRequest`);
    url.searchParams.set("t", this.#settings.token);
    url.searchParams.set("q", this.#settings.queryId);
    url.searchParams.set("v", "3");
    // Always explicit: without fd/td, v3 may silently answer with one day (contract §1.1).
    url.searchParams.set("fd", compactDate(window.from));
    url.searchParams.set("td", compactDate(window.to));
    return url;
  }

  #statementUrl(given: string | null): URL {
    const choice = statementUrlFor(given, this.#settings.baseUrl);
    if (choice.refused !== null) {
      this.#event({ kind: "url-refused", host: choice.refused, using: printableUrl(choice.url) });
    }
    return choice.url;
  }

  #headers(): Record<string, string> {
    return { "user-agent": this.#settings.userAgent, accept: "application/xml, text/xml, */*" };
  }

  /**
   * Classifies an answer with the token removed from all the server wrote in it (its code, its
   * message, an excerpt of a page), so no error, event or journal row built from it carries one.
   */
  #read(body: Uint8Array): ServiceAnswer {
    const answer = readServiceAnswer(body);
    switch (answer.kind) {
      case "error":
        return {
          ...answer,
          status: this.#clean(answer.status),
          code: answer.code === null ? null : this.#clean(answer.code),
          message: answer.message === null ? null : this.#clean(answer.message),
        };
      case "unexpected":
        return { ...answer, detail: this.#clean(answer.detail) };
      default:
        return answer;
    }
  }

  /** Removes the token from text that came from elsewhere (a server's message, an error). */
  #clean(text: string): string {
    const token = this.#settings.token;
    return token ? text.replaceAll(token, "[redacted]") : text;
  }

  #event(event: FlexEvent): void {
    this.#deps.onEvent?.(event);
  }
}

/**
 * Where to ask GetStatement: IBKR's `<Url>` when it is https on an interactivebrokers.com host,
 * or on the configured base's own origin (a stand-in, a proxy the operator chose). Anything else
 * would receive the token, so the configured base's GetStatement is used instead and the refused
 * origin is returned for the log (contract §1.1).
 *
 * @example
 * statementUrlFor("http://evil.example/GetStatement", new URL(DEFAULT_FLEX_BASE_URL)).refused;
 * // "http://evil.example"
 */
export function statementUrlFor(
  given: string | null,
  base: URL,
): { readonly url: URL; readonly refused: string | null } {
  const fallback = new URL(`${base.href.replace(/\/+$/, "")}/GetStatement`);
  if (given === null) return { url: fallback, refused: null };
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    return { url: fallback, refused: "(an unparseable Url)" };
  }
  const host = url.hostname.toLowerCase();
  const ibkr = url.protocol === "https:" &&
    (host === "interactivebrokers.com" || host.endsWith(".interactivebrokers.com"));
  if (ibkr || url.origin === base.origin) return { url, refused: null };
  return { url: fallback, refused: `${url.protocol}//${url.host}` };
}

interface StatementAnswer {
  readonly kind: "statement";
  readonly body: Uint8Array;
}

function errorCodeOf(answer: ServiceAnswer): string | null {
  return answer.kind === "error" ? answer.code : null;
}

function answerText(answer: ServiceAnswer, status: number): string {
  switch (answer.kind) {
    case "reference":
      return "Success (reference code)";
    case "statement":
      return "a statement";
    case "error":
      return `${answer.status || "?"} ${answer.code ?? "(no code)"} "${answer.message ?? ""}"`;
    case "unexpected":
      return `HTTP ${status}: ${answer.detail}`;
  }
}
