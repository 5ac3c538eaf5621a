/**
 * The Flex Web Service's configuration: token, query, endpoint, User-Agent, pacing, and the
 * token's expiry date. The token is registered as a secret the moment it is read, so no output
 * line can carry it.
 */
import { z } from "zod";
import { DEFAULT_FLEX_BASE_URL } from "../flex/service_client.ts";
import { isIsoDate } from "../flex/windows.ts";
import { VERSION } from "../version.ts";
import { ConfigError } from "./config.ts";
import { registerSecret } from "./secrets.ts";

/** IBKR asks for "Technology/Version" (contract §1.1); broker-sync names itself after it. */
export const DEFAULT_USER_AGENT = `Java/1.8 broker-sync/${VERSION}`;

/** Seconds to wait after SendRequest before the first poll (IBKR needs about 4–5, §1.4). */
export const DEFAULT_POLL_SECONDS = 5;

export interface FlexConfig {
  readonly token: string;
  readonly queryId: string;
  readonly baseUrl: URL;
  readonly userAgent: string;
  readonly pollSeconds: number;
}

type Env = (name: string) => string | undefined;

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

const baseUrl = z.string().transform((text, ctx) => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    ctx.addIssue({ code: "custom", message: `"${text}" is not a URL` });
    return z.NEVER;
  }
  // The token travels in the query string: only https, except to this machine (a stand-in).
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.has(url.hostname))) {
    ctx.addIssue({
      code: "custom",
      message: `"${url.origin}" must be https (the token travels in the URL)`,
    });
    return z.NEVER;
  }
  if (url.search || url.hash) {
    ctx.addIssue({ code: "custom", message: "must not carry a query string or fragment" });
    return z.NEVER;
  }
  return url;
});

const FlexEnv = z.object({
  IBKR_FLEX_QUERY_ID: z.string().regex(/^\d{1,20}$/, "is not a Flex query id (digits)"),
  IBKR_FLEX_BASE_URL: baseUrl.optional(),
  IBKR_FLEX_USER_AGENT: z.string().regex(/^[\x21-\x7e][\x20-\x7e]{0,199}$/, "is not a User-Agent")
    .optional(),
  IBKR_FLEX_POLL_SECONDS: z.string().regex(/^\d{1,3}(\.\d{1,3})?$/, "is not a number of seconds")
    .transform(Number).refine((n) => n <= 120, "is more than 120 seconds").optional(),
});

/**
 * Reads the Flex configuration. `token` is the token read from `--token-file` when given;
 * otherwise IBKR_FLEX_TOKEN.
 */
export function loadFlexConfig(env: Env, token?: string): FlexConfig {
  const raw = (name: string) => env(name) || undefined;
  const resolved = token ?? raw("IBKR_FLEX_TOKEN");
  if (resolved === undefined) {
    throw new ConfigError(
      "no Flex token: set IBKR_FLEX_TOKEN (or, for verify-token, pass --token-file FILE or -)",
    );
  }
  const checkedToken = checkToken(
    resolved,
    token === undefined ? "IBKR_FLEX_TOKEN" : "--token-file",
  );
  if (raw("IBKR_FLEX_QUERY_ID") === undefined) {
    throw new ConfigError("no Flex query: set IBKR_FLEX_QUERY_ID to the Activity Flex Query's id");
  }
  const parsed = FlexEnv.safeParse({
    IBKR_FLEX_QUERY_ID: raw("IBKR_FLEX_QUERY_ID"),
    IBKR_FLEX_BASE_URL: raw("IBKR_FLEX_BASE_URL"),
    IBKR_FLEX_USER_AGENT: raw("IBKR_FLEX_USER_AGENT"),
    IBKR_FLEX_POLL_SECONDS: raw("IBKR_FLEX_POLL_SECONDS"),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${issue.path.join(".")}: ${issue.message}`);
  }
  return {
    token: checkedToken,
    queryId: parsed.data.IBKR_FLEX_QUERY_ID,
    baseUrl: parsed.data.IBKR_FLEX_BASE_URL ?? new URL(DEFAULT_FLEX_BASE_URL),
    userAgent: parsed.data.IBKR_FLEX_USER_AGENT ?? DEFAULT_USER_AGENT,
    pollSeconds: parsed.data.IBKR_FLEX_POLL_SECONDS ?? DEFAULT_POLL_SECONDS,
  };
}

/**
 * Reads a token from a file, or from stdin for `-`. Surrounding whitespace (a trailing newline)
 * is not part of it.
 */
export async function readTokenFile(path: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = path === "-"
      ? new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer())
      : await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ConfigError(`--token-file ${path}: no such file`);
    }
    if (e instanceof Deno.errors.PermissionDenied) {
      throw new ConfigError(`--token-file ${path}: permission denied`);
    }
    throw e;
  }
  const token = new TextDecoder().decode(bytes).trim();
  registerSecret(token);
  return checkToken(token, path === "-" ? "--token-file - (stdin)" : `--token-file ${path}`);
}

function checkToken(token: string, source: string): string {
  const trimmed = token.trim();
  registerSecret(trimmed);
  if (trimmed === "") throw new ConfigError(`${source}: the token is empty`);
  // Never quote the value: it is the secret.
  if (!/^[\x21-\x7e]{1,256}$/.test(trimmed)) {
    throw new ConfigError(`${source}: the token has spaces or characters a token cannot have`);
  }
  return trimmed;
}

/** The token's expiry date from `--expires-on` or IBKR_FLEX_TOKEN_EXPIRES, if known. */
export function tokenExpiry(env: Env, flag?: string): string | null {
  const value = flag ?? (env("IBKR_FLEX_TOKEN_EXPIRES") || undefined);
  if (value === undefined) return null;
  if (!isIsoDate(value)) {
    throw new ConfigError(
      `${
        flag !== undefined ? "--expires-on" : "IBKR_FLEX_TOKEN_EXPIRES"
      }: "${value}" is not YYYY-MM-DD`,
    );
  }
  return value;
}

/**
 * When the token stops working, for `ibkr_flex_token_expiry_timestamp_seconds`: the start (UTC)
 * of its expiry date, the earliest instant that date can mean. Null when the date is unknown.
 */
export function tokenExpiresAt(env: Env): Date | null {
  const date = tokenExpiry(env);
  return date === null ? null : new Date(`${date}T00:00:00Z`);
}
