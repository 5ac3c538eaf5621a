/**
 * Why the Flex Web Service gave no statement. Three kinds an operator must tell apart:
 * IBKR refused with an error code ({@link FlexServiceError}), IBKR could not be reached or kept
 * answering "not yet" past the deadline ({@link FlexUnreachableError}), or something answered
 * that is not the Flex Web Service at all, such as an HTML page or cut-off XML
 * ({@link FlexUnexpectedAnswerError}). Messages never contain the token: URLs are written
 * without their query string.
 */
import type { FlexCodeClass } from "./service_codes.ts";

/** The two calls of the protocol. */
export type FlexEndpoint = "SendRequest" | "GetStatement";

/** The fatal classes of an IBKR error code (the ones with their own exit code). */
export type FlexRefusalClass = Exclude<
  FlexCodeClass,
  "retry" | "generating" | "throttled" | "restart"
>;

/** IBKR answered with an error code that waiting cannot fix. */
export class FlexServiceError extends Error {
  constructor(
    readonly endpoint: FlexEndpoint,
    readonly refusal: FlexRefusalClass,
    readonly code: string | null,
    readonly ibkrMessage: string | null,
    readonly fix: string,
  ) {
    super(
      `Flex Web Service ${endpoint}: IBKR error ${code ?? "(no code)"}${
        ibkrMessage ? ` "${ibkrMessage}"` : ""
      } — ${fix}`,
    );
    this.name = "FlexServiceError";
  }
}

/** No usable answer in time: connection, timeouts, HTTP errors, or retries exhausted. */
export class FlexUnreachableError extends Error {
  constructor(readonly endpoint: FlexEndpoint, readonly detail: string) {
    super(`Flex Web Service ${endpoint}: ${detail}`);
    this.name = "FlexUnreachableError";
  }
}

/** Something answered, but not with Flex XML: an HTML page, truncated or malformed XML, a redirect. */
export class FlexUnexpectedAnswerError extends Error {
  constructor(readonly endpoint: FlexEndpoint, readonly detail: string) {
    super(`Flex Web Service ${endpoint}: ${detail}`);
    this.name = "FlexUnexpectedAnswerError";
  }
}
