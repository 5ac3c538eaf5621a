/**
 * A loopback stand-in for IBKR's Flex Web Service (contract `ibkr-flex.md` §1, §2.1).
 *
 * It speaks the two-step protocol (SendRequest → reference code → GetStatement) on 127.0.0.1,
 * answers every Flex-level outcome, errors included, as HTTP 200 with a
 * `FlexStatementResponse`, enforces the per-token rate limit, simulates statement generation
 * (1019 polls), answers 1001 on the legacy `/Universal/servlet/…` paths, and can be scripted to
 * misbehave (any error code, an unknown code, HTML pages, raw HTTP errors, stalls, truncation,
 * delays). Every request is recorded so tests can assert how many calls a client made, how far
 * apart, and with which parameters.
 *
 * @example
 * const flex = await startFlexStandIn({ token: "T0K3N", queryId: "987654" });
 * flex.script([{ kind: "error", code: "1019", on: "GetStatement" }]);
 * // … point the client at flex.baseUrl, run it, then:
 * flex.calls.map((c) => c.endpoint); // ["SendRequest", "GetStatement", "GetStatement"]
 * await flex.close();
 *
 * ## What the contract pins (and this stand-in does)
 *
 * - `GET {base}/SendRequest?t=&q=&v=3[&fd=&td=|&p=]` → `Success` + `ReferenceCode` + `Url`;
 *   wrong token 1015, wrong query 1014. `GET {Url}?q=REF&t=&v=3` → the `FlexQueryResponse`;
 *   unknown reference 1017; still generating 1019 (`Warn`).
 * - HTTP 200 for every Flex-level outcome; decide by the XML (§1.1).
 * - `timestamp` attribute in single quotes, as IBKR sometimes writes it (§1.2).
 * - Legacy `…/Universal/servlet/FlexStatementService.{SendRequest,GetStatement}` → 1001 (§1.1).
 * - 1 request/s and 10 requests/min per token, SendRequest included; exceeding → 1018 (§1.3).
 * - A missing `v` still answers (the v2 fallback, §1.1); the call's params show it was missing.
 * - Windows of at most 365 days, `fd`/`td` wins over `p` (IBKR ignores `p` then, §1.1, §1.5).
 *
 * ## Where the contract is silent (our choices)
 *
 * Protocol and validation:
 * - A window over the limit (`fd`..`td` covering more than 365 calendar days, counted
 *   inclusively, so a leap year's 1 Jan..31 Dec = 366 days is refused; or `p` > 365) is answered
 *   `Fail` 1020 "Invalid request or unable to validate request.". IBKR's real answer is not
 *   documented. The same 1020 answers a malformed window: `fd` without `td` (or the reverse), a
 *   value that is not a real yyyymmdd date, `fd` after `td`, or `p` not an integer in 1..365.
 *   A `td` in the future is accepted.
 * - `p` sent together with `fd`/`td` is accepted and ignored (the contract says IBKR ignores it).
 * - Check order on SendRequest: token (missing/unknown → 1015) → rate limit (1018) → query
 *   (missing/unknown → 1014) → window (1020). On GetStatement: token → rate limit → reference
 *   (missing/unknown → 1017) → generation (1019) → statement. A call with an unknown token is
 *   refused before, and not counted by, the rate limiter.
 * - Rate limit: for the accepted token, a sliding log of *admitted* calls; a call is throttled when the
 *   previous admitted call is less than `minIntervalMs` (default 1000) ago, or when
 *   `rateLimitPerMinute` admitted calls already fall within the last 60 000 ms. Throttled calls
 *   (1018) are not counted, so a client that backs off recovers. 1018 is answered `Warn`.
 * - Time comes from `options.clock` (default `performance.now()`), read exactly once per
 *   request, at arrival: it is both `FlexCall.at` and the rate limiter's "now", so a test that
 *   injects a clock sees the calls on the same timeline the limiter used.
 * - `generationPolls` counts per reference code: its first N admitted GetStatement calls answer
 *   1019 (`Warn`). A reference stays valid after its statement was delivered (a repeat
 *   GetStatement returns the statement again); references never expire.
 * - Reference codes are 10-digit numbers: a random base per stand-in, then sequential, so a
 *   client cannot hard-code one.
 * - `<Url>` is `options.urlHost` verbatim when given (it is the whole URL, not just a host),
 *   else `{baseUrl}/GetStatement`. When the legacy SendRequest path is live
 *   (`legacyPathAnswers1001: false`) its default `<Url>` is the legacy GetStatement path, as the
 *   pre-May-2026 service did. The GetStatement query string is the client's business.
 * - Legacy paths, when `legacyPathAnswers1001` (default), answer `Fail` 1001 "Statement could not
 *   be generated at this time. Please try again shortly." to every GET whatever the parameters,
 *   are not rate limited, and are recorded under their endpoint ("SendRequest"/"GetStatement")
 *   with the legacy `path`. With `legacyPathAnswers1001: false` they behave like the current
 *   endpoints.
 * - Any method but GET → HTTP 405 with an HTML page; any other path → HTTP 404 with an HTML page.
 *   Both are recorded with endpoint "other" and never consume scripted steps.
 * - Repeated query parameters: the first value wins (`URLSearchParams.get`), in the recorded
 *   `params` too.
 * - Successful XML answers carry `<?xml version="1.0" encoding="UTF-8"?>`, content type
 *   `text/xml;charset=UTF-8`, and `Cache-Control: private, no-transform` so Deno never
 *   compresses them: byte counts in `stall`/`truncate` are bytes on the wire.
 * - `timestamp` is the current time in New York, formatted like `28 August, 2026 10:37 AM EDT`.
 * - The default statement: `FlexQueryResponse queryName="broker-sync-activity" type="AF"` with
 *   one `FlexStatement accountId="U1234567"` and an `AccountInformation` row (base currency GBP,
 *   as in `fixtures/U1234567-2025.xml`), dates written yyyy-MM-dd like that fixture.
 *   fromDate/toDate echo `fd`/`td`; with `p` only, toDate is today in New York and fromDate is
 *   p−1 days earlier (`period="LastNCalendarDays"`); with no window, both are today
 *   (`period="LastBusinessDay"`). `whenGenerated` is now in New York, `yyyy-MM-dd;HH:mm:ss`.
 *
 * Scripted steps (`script`):
 * - Steps form one FIFO queue, appended to by each `script` call. A SendRequest or GetStatement
 *   call consumes the head step only if the head applies to it (no `on`, or `on` equal to the
 *   call's endpoint); otherwise the call behaves normally and the head keeps waiting. So the
 *   script is a timeline: later steps never overtake a waiting one.
 * - `error`: `Status` defaults to `Warn` for 1001, 1004–1009, 1018, 1019 and 1021 (the codes the
 *   contract classes "retry", plus 1018/1019 which real fixtures show as `Warn`) and `Fail`
 *   otherwise. This split is our reading of the contract, not documented by IBKR. The message is
 *   the contract's table text (which the contract calls abridged; 1018/1019 carry the full
 *   "Please try again shortly." text). Clients must not match on message text.
 * - `unknownCode` defaults to `Fail`.
 * - `error`, `unknownCode`, `html`, `http` and `statement` replace the call's answer entirely: no
 *   token check, no reference code created, no poll consumed; the call still counts towards the
 *   rate limit of its `t` if that is the accepted token (IBKR counts requests, not answers).
 * - `delay`, `stall` and `truncate` apply to the *normal* answer of that call, which is decided
 *   when the call arrives (rate limit, reference codes, poll counters); `delay` only postpones
 *   sending it. `stall`/`truncate` cut the normal answer, whatever it is (a SendRequest success,
 *   an error, or the statement).
 * - `truncate`: a complete HTTP 200 response whose body is the first N bytes (Content-Length N):
 *   the transfer ends cleanly and only the XML is cut, which the client must notice itself.
 * - `stall`: headers and the first N bytes are sent, then nothing until the client disconnects;
 *   `close()` errors the stream (the connection is reset, never ended cleanly).
 * - `html` 404/503: a small Apache-like error page (`text/html`), with that HTTP status.
 * - `http`: that status, `text/plain`, body as given (default: the status text).
 *
 * Nothing is ever written to stdout/stderr except an internal error of the stand-in itself,
 * and then with the token redacted.
 */

/** The two Flex Web Service endpoints. */
export type FlexEndpoint = "SendRequest" | "GetStatement";

/** Every code in the contract's error table (§1.3). */
export type FlexErrorCode =
  | "1001"
  | "1003"
  | "1004"
  | "1005"
  | "1006"
  | "1007"
  | "1008"
  | "1009"
  | "1010"
  | "1011"
  | "1012"
  | "1013"
  | "1014"
  | "1015"
  | "1016"
  | "1017"
  | "1018"
  | "1019"
  | "1020"
  | "1021";

/** `Status` of a `FlexStatementResponse` that is not a success. */
export type FlexFailureStatus = "Fail" | "Warn";

/**
 * The contract's error table (§1.3), text as the contract gives it.
 *
 * @example
 * FLEX_ERROR_MESSAGES["1012"]; // "Token has expired."
 */
export const FLEX_ERROR_MESSAGES: Readonly<Record<FlexErrorCode, string>> = {
  "1001": "Statement could not be generated at this time. Please try again shortly.",
  "1003": "Statement is not available.",
  "1004": "Statement is incomplete at this time.",
  "1005": "Settlement data is not ready at this time.",
  "1006": "FIFO P/L data is not ready at this time.",
  "1007": "MTM P/L data is not ready at this time.",
  "1008": "MTM and FIFO P/L data is not ready at this time.",
  "1009": "The server is under heavy load.",
  "1010": "Legacy Flex Queries are no longer supported. Convert to Activity Flex.",
  "1011": "Service account is inactive.",
  "1012": "Token has expired.",
  "1013": "IP restriction.",
  "1014": "Query is invalid.",
  "1015": "Token is invalid.",
  "1016": "Account is invalid.",
  "1017": "Reference code is invalid.",
  "1018": "Too many requests have been made from this token. Please try again shortly.",
  "1019": "Statement generation in progress. Please try again shortly.",
  "1020": "Invalid request or unable to validate request.",
  "1021": "Statement could not be retrieved at this time.",
};

// Our reading of the contract (see the header): "retry" codes plus 1018/1019 come as Warn.
const WARN_CODES: ReadonlySet<string> = new Set([
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

/**
 * The default `Status` the stand-in uses for a scripted error code.
 *
 * @example
 * defaultFlexStatus("1019"); // "Warn"
 * defaultFlexStatus("1012"); // "Fail"
 */
export function defaultFlexStatus(code: string): FlexFailureStatus {
  return WARN_CODES.has(code) ? "Warn" : "Fail";
}

/** Restricts a scripted step to calls of one endpoint. */
interface StepScope {
  readonly on?: FlexEndpoint;
}

/** One scripted answer; see "Scripted steps" in the module header. */
export type FlexStep =
  & StepScope
  & (
    | { readonly kind: "error"; readonly code: FlexErrorCode; readonly status?: FlexFailureStatus }
    | {
      readonly kind: "unknownCode";
      readonly code: string;
      readonly message: string;
      readonly status?: FlexFailureStatus;
    }
    | { readonly kind: "html"; readonly status: 404 | 503 }
    | { readonly kind: "http"; readonly status: number; readonly body?: string }
    | { readonly kind: "stall"; readonly afterBytes: number }
    | { readonly kind: "truncate"; readonly bytes: number }
    | { readonly kind: "statement"; readonly body: string | Uint8Array }
    | { readonly kind: "delay"; readonly ms: number }
  );

/** One request the stand-in received. `params` includes the token, as sent. */
export interface FlexCall {
  /** `options.clock()` at arrival; by default `performance.now()` ms. */
  readonly at: number;
  readonly endpoint: FlexEndpoint | "other";
  readonly path: string;
  readonly params: Record<string, string>;
  readonly userAgent: string | null;
}

/** The window a SendRequest asked for, handed to the `setStatement` function. */
export interface FlexStatementRequest {
  readonly fd: string | null;
  readonly td: string | null;
  readonly p: string | null;
  readonly query: string;
}

/** Produces the GetStatement body for a reference code's window. */
export type FlexStatementSource = (req: FlexStatementRequest) => string | Uint8Array;

/** Options of {@link startFlexStandIn}. */
export interface FlexStandInOptions {
  /** The one accepted token. */
  readonly token: string;
  /** The one accepted query id. */
  readonly queryId: string;
  /** Legacy `/Universal/servlet/…` paths answer 1001 (post-May-2026). Default true. */
  readonly legacyPathAnswers1001?: boolean;
  /** GetStatement calls per reference code answering 1019 before the statement. Default 0. */
  readonly generationPolls?: number;
  /** Admitted calls per token per 60 s, SendRequest + GetStatement. Default 10. */
  readonly rateLimitPerMinute?: number;
  /** Minimum spacing of admitted calls per token, ms. Default 1000 (1 request/s). */
  readonly minIntervalMs?: number;
  /** The whole `<Url>` SendRequest returns. Default `{baseUrl}/GetStatement`. */
  readonly urlHost?: string;
  /** Milliseconds; read once per request. Default `performance.now()`. */
  readonly clock?: () => number;
}

/** A running stand-in. */
export interface FlexStandIn {
  /** e.g. `http://127.0.0.1:PORT/AccountManagement/FlexWebService`; append `/SendRequest`. */
  readonly baseUrl: string;
  /** Every request received, in order of arrival. */
  readonly calls: readonly FlexCall[];
  /** Appends scripted answers; when the queue is empty (or its head waits), behave normally. */
  script(steps: FlexStep[]): void;
  /** What GetStatement returns on success. */
  setStatement(fn: FlexStatementSource): void;
  /** Ends stalled answers and pending delays, then stops the server. Idempotent. */
  close(): Promise<void>;
}

const BASE_PATH = "/AccountManagement/FlexWebService";
const LEGACY_PREFIX = "/Universal/servlet/FlexStatementService.";
const MINUTE_MS = 60_000;
const MAX_WINDOW_DAYS = 365;
const DAY_MS = 86_400_000;
const XML_TYPE = "text/xml;charset=UTF-8";
const HTML_TYPE = "text/html; charset=iso-8859-1";
const NO_TRANSFORM = "private, no-transform";
const encoder = new TextEncoder();

/** A decided answer, before delay/stall/truncate shape its delivery. */
interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly body: Uint8Array<ArrayBuffer>;
}

interface Reference {
  readonly request: FlexStatementRequest;
  pollsLeft: number;
}

interface Route {
  readonly endpoint: FlexEndpoint | "other";
  readonly legacy: boolean;
}

/**
 * Starts a Flex Web Service stand-in on 127.0.0.1 (a free port).
 *
 * @example
 * const flex = await startFlexStandIn({ token: "T", queryId: "1", generationPolls: 1 });
 * const res = await fetch(`${flex.baseUrl}/SendRequest?t=T&q=1&v=3&fd=20250101&td=20251231`);
 * await res.text(); // <FlexStatementResponse timestamp='…'><Status>Success</Status>…
 * await flex.close();
 */
export async function startFlexStandIn(options: FlexStandInOptions): Promise<FlexStandIn> {
  const legacyAnswers1001 = options.legacyPathAnswers1001 ?? true;
  const generationPolls = options.generationPolls ?? 0;
  const perMinute = options.rateLimitPerMinute ?? 10;
  const minIntervalMs = options.minIntervalMs ?? 1000;
  const clock = options.clock ?? (() => performance.now());

  const calls: FlexCall[] = [];
  const queue: FlexStep[] = [];
  const references = new Map<string, Reference>();
  const admitted = new Map<string, number[]>();
  const stalled = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const closing = new AbortController();
  let statementSource: FlexStatementSource = defaultStatement;
  let nextReference = 1_000_000_000 + crypto.getRandomValues(new Uint32Array(1))[0] % 8_000_000_000;

  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: closing.signal,
    onListen: (addr) => listening.resolve(addr),
    onError: (error) => {
      // A stall ended by close() is ours, not a failure worth printing.
      if (error instanceof StandInClosed) return new Response(null, { status: 500 });
      // Never print the token, even inside an error message.
      const text = String(error instanceof Error ? error.message : error)
        .replaceAll(options.token, "[token]");
      console.error(`flex stand-in: internal error: ${text}`);
      return new Response("stand-in internal error", { status: 500 });
    },
  }, handle);
  const addr = await listening.promise;
  const origin = `http://127.0.0.1:${addr.port}`;
  const baseUrl = `${origin}${BASE_PATH}`;

  function route(method: string, path: string): Route {
    if (method !== "GET") return { endpoint: "other", legacy: false };
    if (path === `${BASE_PATH}/SendRequest`) return { endpoint: "SendRequest", legacy: false };
    if (path === `${BASE_PATH}/GetStatement`) return { endpoint: "GetStatement", legacy: false };
    if (path === `${LEGACY_PREFIX}SendRequest`) return { endpoint: "SendRequest", legacy: true };
    if (path === `${LEGACY_PREFIX}GetStatement`) return { endpoint: "GetStatement", legacy: true };
    return { endpoint: "other", legacy: false };
  }

  /** Admits a call under the token's rate limit, or says it is throttled. */
  function admit(token: string, now: number): boolean {
    const log = (admitted.get(token) ?? []).filter((t) => now - t < MINUTE_MS);
    const last = log.at(-1);
    if (last !== undefined && now - last < minIntervalMs) return false;
    if (log.length >= perMinute) return false;
    log.push(now);
    admitted.set(token, log);
    return true;
  }

  function takeStep(endpoint: FlexEndpoint): FlexStep | undefined {
    const head = queue[0];
    if (head === undefined || (head.on !== undefined && head.on !== endpoint)) return undefined;
    return queue.shift();
  }

  function sendRequest(params: URLSearchParams, now: number, legacy: boolean): Answer {
    if (params.get("t") !== options.token) return failure("1015");
    if (!admit(options.token, now)) return failure("1018");
    const query = params.get("q");
    if (query !== options.queryId) return failure("1014");
    const window = checkWindow(params);
    if (window === null) return failure("1020"); // our choice: see the module header
    const code = String(nextReference++);
    references.set(code, { request: { ...window, query }, pollsLeft: generationPolls });
    const url = options.urlHost ??
      (legacy ? `${origin}${LEGACY_PREFIX}GetStatement` : `${baseUrl}/GetStatement`);
    return xml(
      `<FlexStatementResponse timestamp='${flexTimestamp()}'>\n` +
        `<Status>Success</Status>\n<ReferenceCode>${code}</ReferenceCode>\n` +
        `<Url>${escapeXml(url)}</Url>\n</FlexStatementResponse>\n`,
    );
  }

  function getStatement(params: URLSearchParams, now: number): Answer {
    if (params.get("t") !== options.token) return failure("1015");
    if (!admit(options.token, now)) return failure("1018");
    const reference = references.get(params.get("q") ?? "");
    if (reference === undefined) return failure("1017");
    if (reference.pollsLeft > 0) {
      reference.pollsLeft--;
      return failure("1019");
    }
    const body = statementSource(reference.request);
    return { status: 200, contentType: XML_TYPE, body: toBytes(body) };
  }

  function normalAnswer(route: Route, params: URLSearchParams, now: number): Answer {
    if (route.legacy && legacyAnswers1001) return failure("1001", "Fail");
    return route.endpoint === "SendRequest"
      ? sendRequest(params, now, route.legacy)
      : getStatement(params, now);
  }

  async function handle(request: Request): Promise<Response> {
    const now = clock();
    const url = new URL(request.url);
    const where = route(request.method, url.pathname);
    const params: Record<string, string> = {};
    for (const [key, value] of url.searchParams) if (!(key in params)) params[key] = value;
    calls.push({
      at: now,
      endpoint: where.endpoint,
      path: url.pathname,
      params,
      userAgent: request.headers.get("user-agent"),
    });

    if (request.method !== "GET") {
      const text = `The requested method ${request.method} is not allowed.`;
      return html(405, "Method Not Allowed", text, { allow: "GET" });
    }
    if (where.endpoint === "other") {
      return html(404, "Not Found", "The requested URL was not found on this server.");
    }

    const step = takeStep(where.endpoint);
    switch (step?.kind) {
      case "error":
        countScripted(url.searchParams, now, where);
        return respond(failure(step.code, step.status));
      case "unknownCode":
        countScripted(url.searchParams, now, where);
        return respond(failureXml(step.code, step.message, step.status ?? "Fail"));
      case "html":
        countScripted(url.searchParams, now, where);
        return step.status === 404
          ? html(404, "Not Found", "The requested URL was not found on this server.")
          : html(
            503,
            "Service Unavailable",
            "The server is temporarily unable to service your request due to maintenance " +
              "downtime or capacity problems. Please try again later.",
          );
      case "http": {
        countScripted(url.searchParams, now, where);
        // 204/205/304 cannot carry a body at all.
        const bodiless = [204, 205, 304].includes(step.status);
        const body = bodiless ? null : step.body ?? statusText(step.status);
        return new Response(body, {
          status: step.status,
          headers: { "content-type": "text/plain; charset=UTF-8", "cache-control": NO_TRANSFORM },
        });
      }
      case "statement":
        countScripted(url.searchParams, now, where);
        return respond({ status: 200, contentType: XML_TYPE, body: toBytes(step.body) });
    }

    const answer = normalAnswer(where, url.searchParams, now);
    switch (step?.kind) {
      case "delay":
        await sleep(step.ms, closing.signal);
        return respond(answer);
      case "truncate":
        return respond({ ...answer, body: answer.body.slice(0, Math.max(0, step.bytes)) });
      case "stall":
        return stall(answer, step.afterBytes);
      default:
        return respond(answer);
    }
  }

  /** A scripted answer replaces the response, not the request: it still uses the quota. */
  function countScripted(params: URLSearchParams, now: number, where: Route): void {
    if (where.legacy && legacyAnswers1001) return;
    if (params.get("t") === options.token) admit(options.token, now);
  }

  function stall(answer: Answer, afterBytes: number): Response {
    const head = answer.body.slice(0, Math.max(0, afterBytes));
    let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c;
        if (head.length > 0) c.enqueue(head);
        stalled.add(c);
      },
      cancel() {
        if (controller) stalled.delete(controller);
      },
    });
    return new Response(body, {
      status: answer.status,
      headers: { "content-type": answer.contentType, "cache-control": NO_TRANSFORM },
    });
  }

  let closed: Promise<void> | undefined;
  return {
    baseUrl,
    calls,
    script(steps: FlexStep[]): void {
      queue.push(...steps);
    },
    setStatement(fn: FlexStatementSource): void {
      statementSource = fn;
    },
    close(): Promise<void> {
      closed ??= (async () => {
        closing.abort();
        for (const c of stalled) {
          try {
            c.error(new StandInClosed());
          } catch {
            // Already cancelled by the client.
          }
        }
        stalled.clear();
        await server.finished;
      })();
      return closed;
    },
  };
}

// ---- answers ----------------------------------------------------------------

/** Errors a stalled body when the stand-in closes, so the client sees a broken transfer. */
class StandInClosed extends Error {
  constructor() {
    super("flex stand-in closed");
    this.name = "StandInClosed";
  }
}

function respond(answer: Answer): Response {
  return new Response(answer.body, {
    status: answer.status,
    headers: { "content-type": answer.contentType, "cache-control": NO_TRANSFORM },
  });
}

function xml(text: string): Answer {
  return {
    status: 200,
    contentType: XML_TYPE,
    body: encoder.encode(`<?xml version="1.0" encoding="UTF-8"?>\n${text}`),
  };
}

function failure(code: FlexErrorCode, status?: FlexFailureStatus): Answer {
  return failureXml(code, FLEX_ERROR_MESSAGES[code], status ?? defaultFlexStatus(code));
}

function failureXml(code: string, message: string, status: FlexFailureStatus): Answer {
  return xml(
    `<FlexStatementResponse timestamp='${flexTimestamp()}'>\n<Status>${status}</Status>\n` +
      `<ErrorCode>${escapeXml(code)}</ErrorCode>\n<ErrorMessage>${escapeXml(message)}` +
      `</ErrorMessage>\n</FlexStatementResponse>\n`,
  );
}

function html(
  status: number,
  title: string,
  text: string,
  extraHeaders: Record<string, string> = {},
): Response {
  const page = `<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n` +
    `<title>${status} ${title}</title>\n</head><body>\n<h1>${title}</h1>\n<p>${text}</p>\n` +
    `</body></html>\n`;
  return new Response(page, {
    status,
    headers: { "content-type": HTML_TYPE, "cache-control": NO_TRANSFORM, ...extraHeaders },
  });
}

function statusText(status: number): string {
  const known: Record<number, string> = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
  };
  return known[status] ?? `HTTP ${status}`;
}

function toBytes(body: string | Uint8Array): Uint8Array<ArrayBuffer> {
  return typeof body === "string" ? encoder.encode(body) : new Uint8Array(body);
}

function escapeXml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;").replaceAll("'", "&apos;");
}

/** Resolves after `ms`, or at once when the stand-in closes. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, Math.max(0, ms));
    signal.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

// ---- windows ----------------------------------------------------------------

/** The request's window, or null when it is malformed or longer than 365 days. */
function checkWindow(params: URLSearchParams): Omit<FlexStatementRequest, "query"> | null {
  const fd = params.get("fd");
  const td = params.get("td");
  const p = params.get("p");
  if (fd !== null || td !== null) {
    if (fd === null || td === null) return null;
    const from = parseYmd(fd);
    const to = parseYmd(td);
    if (from === null || to === null || from > to) return null;
    if ((to - from) / DAY_MS + 1 > MAX_WINDOW_DAYS) return null;
    return { fd, td, p }; // IBKR ignores p when fd/td are present (contract §1.1)
  }
  if (p !== null) {
    if (!/^\d{1,4}$/.test(p)) return null;
    const days = Number(p);
    if (days < 1 || days > MAX_WINDOW_DAYS) return null;
  }
  return { fd: null, td: null, p };
}

/** yyyymmdd → UTC ms of that day, or null when it is not a real date. */
function parseYmd(value: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(value);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) {
    return null;
  }
  return ms;
}

// ---- the default statement --------------------------------------------------

const NEW_YORK = new Intl.DateTimeFormat("en-US", {
  timeZone: "America/New_York",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});

const NEW_YORK_STAMP = new Intl.DateTimeFormat("en-US", {
  timeZone: "America/New_York",
  year: "numeric",
  month: "long",
  day: "numeric",
  hour: "numeric",
  minute: "2-digit",
  hour12: true,
  timeZoneName: "short",
});

function partsOf(format: Intl.DateTimeFormat, date: Date): Record<string, string> {
  const parts: Record<string, string> = {};
  for (const part of format.formatToParts(date)) parts[part.type] = part.value;
  return parts;
}

/** Like IBKR's `28 August, 2026 10:37 AM EDT`, for now. */
function flexTimestamp(): string {
  const p = partsOf(NEW_YORK_STAMP, new Date());
  return `${p.day} ${p.month}, ${p.year} ${p.hour}:${p.minute} ${p.dayPeriod} ${p.timeZoneName}`;
}

/** yyyymmdd → yyyy-MM-dd. */
export function dashed(ymd: string): string {
  return `${ymd.slice(0, 4)}-${ymd.slice(4, 6)}-${ymd.slice(6, 8)}`;
}

/**
 * The default GetStatement body: a minimal valid Activity Flex statement for U1234567 whose
 * fromDate/toDate echo the requested window.
 *
 * @example
 * defaultStatement({ fd: "20250101", td: "20251231", p: null, query: "1" });
 * // …<FlexStatement accountId="U1234567" fromDate="2025-01-01" toDate="2025-12-31" …
 */
export function defaultStatement(req: FlexStatementRequest): string {
  const now = partsOf(NEW_YORK, new Date());
  const today = `${now.year}-${now.month}-${now.day}`;
  let fromDate = today;
  let toDate = today;
  let period = "LastBusinessDay";
  if (req.fd !== null && req.td !== null) {
    [fromDate, toDate, period] = [dashed(req.fd), dashed(req.td), ""];
  } else if (req.p !== null) {
    const from = new Date(Date.parse(`${today}T00:00:00Z`) - (Number(req.p) - 1) * DAY_MS);
    fromDate = from.toISOString().slice(0, 10);
    period = "LastNCalendarDays";
  }
  const whenGenerated = `${today};${now.hour}:${now.minute}:${now.second}`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<FlexQueryResponse queryName="broker-sync-activity" type="AF">
  <FlexStatements count="1">
    <FlexStatement accountId="U1234567" fromDate="${fromDate}" toDate="${toDate}" period="${period}"
      whenGenerated="${whenGenerated}">
      <AccountInformation accountId="U1234567" acctAlias="GIA" currency="GBP" name="Sample Holder"
        accountType="Individual" customerType="Individual" accountCapabilities="Margin"
        dateOpened="2024-11-04" />
    </FlexStatement>
  </FlexStatements>
</FlexQueryResponse>
`;
}
