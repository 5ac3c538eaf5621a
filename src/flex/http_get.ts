/**
 * One HTTP GET with the limits a service that may hang needs: a deadline for the response to
 * start (which covers connecting), a deadline between body chunks (a stalled transfer), a cap on
 * the body size, and no redirects followed (a redirect would carry the token's query string to
 * wherever it points). Errors never quote the URL: it carries the token.
 */

/** The limits of one GET. */
export interface HttpLimits {
  /** From sending the request to the response headers: connecting and IBKR's think time. */
  readonly responseTimeoutMs: number;
  /** Between two chunks of the body. */
  readonly stallTimeoutMs: number;
  readonly maxBodyBytes: number;
}

/** A complete answer. */
export interface HttpAnswer {
  readonly status: number;
  readonly contentType: string | null;
  readonly body: Uint8Array;
}

/** Why a GET gave no complete answer. */
export type HttpFailureKind = "connect" | "timeout" | "stalled" | "too-large" | "redirect";

/** A GET that gave no complete answer; `message` names the host and path, never the query. */
export class HttpFailure extends Error {
  constructor(readonly kind: HttpFailureKind, message: string) {
    super(message);
    this.name = "HttpFailure";
  }
}

/**
 * The URL as it may be printed: scheme, host and path, no query string (where the token is).
 *
 * @example
 * printableUrl(new URL("https://h.example/p/SendRequest?t=SECRET&q=1")); // "https://h.example/p/SendRequest"
 */
export function printableUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

class Timeout {
  constructor(readonly kind: "timeout" | "stalled") {}
}

/** GETs `url`; resolves with the whole body or throws HttpFailure. */
export async function httpGet(
  url: URL,
  headers: Record<string, string>,
  limits: HttpLimits,
): Promise<HttpAnswer> {
  const where = printableUrl(url);
  const controller = new AbortController();
  const arm = (ms: number, kind: "timeout" | "stalled") =>
    setTimeout(() => controller.abort(new Timeout(kind)), ms);
  let timer = arm(limits.responseTimeoutMs, "timeout");
  try {
    let response: Response;
    try {
      response = await fetch(url, { headers, redirect: "manual", signal: controller.signal });
    } catch (e) {
      throw failure(e, controller.signal, where, limits);
    }
    clearTimeout(timer);
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      const to = response.headers.get("location");
      throw new HttpFailure(
        "redirect",
        `${where} answered HTTP ${response.status} redirecting to ${
          to ? hostOf(to, url) : "(nowhere)"
        }; redirects are not followed (the request carries the token)`,
      );
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = response.body?.getReader();
    while (reader) {
      timer = arm(limits.stallTimeoutMs, "stalled");
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (e) {
        throw failure(e, controller.signal, where, limits);
      } finally {
        clearTimeout(timer);
      }
      if (next.done) break;
      size += next.value.byteLength;
      if (size > limits.maxBodyBytes) {
        controller.abort();
        throw new HttpFailure(
          "too-large",
          `${where} answered with more than ${limits.maxBodyBytes} bytes; refusing to read on`,
        );
      }
      chunks.push(next.value);
    }
    return {
      status: response.status,
      contentType: response.headers.get("content-type"),
      body: concat(chunks, size),
    };
  } finally {
    clearTimeout(timer);
  }
}

function failure(
  error: unknown,
  signal: AbortSignal,
  where: string,
  limits: HttpLimits,
): HttpFailure {
  const reason = signal.aborted ? signal.reason : undefined;
  if (reason instanceof Timeout && reason.kind === "timeout") {
    return new HttpFailure(
      "timeout",
      `${where}: no answer within ${seconds(limits.responseTimeoutMs)}`,
    );
  }
  if (reason instanceof Timeout) {
    return new HttpFailure(
      "stalled",
      `${where}: the answer stalled (no data for ${seconds(limits.stallTimeoutMs)})`,
    );
  }
  return new HttpFailure("connect", `${where}: ${networkCause(error)}`);
}

/** The cause of a network error without the URL Deno puts in its message. */
function networkCause(error: unknown): string {
  const text = error instanceof Error
    ? `${error.message} ${causeText(error.cause)}`
    : String(error);
  const known: [RegExp, string][] = [
    [/connection refused/i, "connection refused"],
    [/dns error|failed to lookup|name or service not known|no address/i, "host name not found"],
    [/certificate|tls|ssl/i, "TLS handshake failed"],
    [
      /connection reset|broken pipe|connection closed|unexpected eof|incomplete/i,
      "connection broken during the transfer",
    ],
    [/timed out/i, "connection timed out"],
    [/network is unreachable|no route/i, "network unreachable"],
  ];
  for (const [pattern, cause] of known) if (pattern.test(text)) return cause;
  return "network error";
}

function causeText(cause: unknown): string {
  return cause instanceof Error ? cause.message : cause === undefined ? "" : String(cause);
}

function hostOf(location: string, base: URL): string {
  try {
    return new URL(location, base).host;
  } catch {
    return "(an unparseable location)";
  }
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}
