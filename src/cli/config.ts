/**
 * Configuration from the environment (the runbook's variable names), validated once with zod.
 * Flags override the environment. Only the variables listed here are ever read, which is what
 * lets the binary run with `--allow-env` scoped to exactly these names.
 */
import { z } from "zod";
import { registerSecret } from "./secrets.ts";

/** Every environment variable broker-sync reads. */
export const ENV_VARS = [
  "BROKER_SYNC_DATA_DIR",
  "NO_COLOR",
  // The account guard and the account map.
  "IBKR_ACCOUNT_ID_UPSTREAM",
  "IBKR_ACCOUNTS",
  // The Flex Web Service.
  "IBKR_FLEX_TOKEN",
  "IBKR_FLEX_QUERY_ID",
  "IBKR_FLEX_BASE_URL",
  "IBKR_FLEX_TOKEN_EXPIRES",
  "IBKR_FLEX_USER_AGENT",
  "IBKR_FLEX_POLL_SECONDS",
  // Wealthfolio.
  "IBKR_ACCOUNT_ID",
  "WF_BASE_URL",
  "WF_PASSWORD",
  "WF_SESSION_PATH",
  // Accepted and ignored: Wealthfolio logs in with a password only.
  "WF_USERNAME",
  // Metrics.
  "PUSHGATEWAY_URL",
] as const;

const ACCOUNT_ID = /^[A-Za-z0-9*]+$/;

const accountList = z.string().transform((text, ctx) => {
  const ids = text.split(",").map((s) => s.trim()).filter(Boolean);
  for (const id of ids) {
    if (!ACCOUNT_ID.test(id)) {
      ctx.addIssue({ code: "custom", message: `"${id}" is not an IBKR account id` });
    }
  }
  return ids;
});

/** `IBKR_ACCOUNTS="U123=<wf-id>,U456=<wf-id>"`: IBKR account → Wealthfolio account. */
const accountMap = z.string().transform((text, ctx) => {
  const map: Record<string, string> = {};
  for (const pair of text.split(",").map((s) => s.trim()).filter(Boolean)) {
    const [ibkr, wf, extra] = pair.split("=").map((s) => s.trim());
    if (!ibkr || !wf || extra !== undefined || !ACCOUNT_ID.test(ibkr)) {
      ctx.addIssue({
        code: "custom",
        message: `"${pair}" is not IBKR_ACCOUNT=WEALTHFOLIO_ACCOUNT_ID`,
      });
      continue;
    }
    map[ibkr] = wf;
  }
  return map;
});

/** `https://wf.example` (an `/api/v1` suffix is accepted and dropped). */
const baseUrl = z.string().transform((text, ctx) => {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    ctx.addIssue({ code: "custom", message: `"${text}" is not a URL` });
    return z.NEVER;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    ctx.addIssue({ code: "custom", message: `"${text}" is not an http(s) URL` });
    return z.NEVER;
  }
  if (url.username || url.password || url.search || url.hash) {
    ctx.addIssue({ code: "custom", message: "must be a plain URL (no credentials, query or #)" });
    return z.NEVER;
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, "").replace(/\/api\/v1$/, "");
});

/** A Wealthfolio account id (a UUID in practice; not assumed). */
const wfAccountId = z.string().trim().regex(/^[^\s,=]+$/, "is not a Wealthfolio account id");

const EnvSchema = z.object({
  BROKER_SYNC_DATA_DIR: z.string().min(1).optional(),
  IBKR_ACCOUNT_ID_UPSTREAM: accountList.optional(),
  IBKR_ACCOUNTS: accountMap.optional(),
  PUSHGATEWAY_URL: z.url({ protocol: /^https?$/ }).optional(),
  WF_BASE_URL: baseUrl.optional(),
  WF_PASSWORD: z.string().optional(),
  WF_SESSION_PATH: z.string().min(1).optional(),
  IBKR_ACCOUNT_ID: wfAccountId.optional(),
});

/** Where and how to reach Wealthfolio; null when WF_BASE_URL is not set. */
export interface WealthfolioConfig {
  /** The server's root URL, without `/api/v1`. */
  readonly baseUrl: string;
  /** Only needed when the server requires a password (`GET /auth/status`). */
  readonly password: string | null;
  /** The cached session (0600), reused until it expires. */
  readonly sessionPath: string;
  /** `IBKR_ACCOUNT_ID`: the Wealthfolio account of IBKR accounts not in `IBKR_ACCOUNTS`. */
  readonly defaultAccountId: string | null;
}

export interface Config {
  readonly dataDir: string;
  /** Accepted IBKR account ids for the account guard; empty accepts any. */
  readonly accounts: readonly string[];
  /** Where `accounts` came from, for messages: a flag or variable name, or null when unset. */
  readonly accountsSource: string | null;
  readonly accountMap: Readonly<Record<string, string>>;
  /** Where run metrics are pushed; null: not pushed. */
  readonly pushgatewayUrl: string | null;
  readonly wealthfolio: WealthfolioConfig | null;
}

/** A configuration value that cannot be used. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Reads and validates configuration; flags win over the environment. */
export function loadConfig(
  flags: { dataDir?: string; account?: string },
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): Config {
  const raw = Object.fromEntries(ENV_VARS.map((name) => [name, env(name) || undefined]));
  registerSecret(raw.WF_PASSWORD);
  const parsed = EnvSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${issue.path.join(".")}: ${issue.message}`);
  }
  let accounts = parsed.data.IBKR_ACCOUNT_ID_UPSTREAM ?? [];
  let accountsSource: string | null = accounts.length ? "IBKR_ACCOUNT_ID_UPSTREAM" : null;
  if (flags.account !== undefined) {
    const fromFlag = accountList.safeParse(flags.account);
    if (!fromFlag.success) throw new ConfigError(`--account: ${fromFlag.error.issues[0].message}`);
    accounts = fromFlag.data;
    accountsSource = "--account";
  }
  const accountMap = parsed.data.IBKR_ACCOUNTS ?? {};
  const pushgatewayUrl = parsed.data.PUSHGATEWAY_URL ?? null;
  // A Pushgateway behind basic auth carries its password in the URL.
  if (pushgatewayUrl) registerSecret(pushgatewayPassword(pushgatewayUrl));
  if (accounts.length === 0 && Object.keys(accountMap).length) {
    accounts = Object.keys(accountMap);
    accountsSource = "IBKR_ACCOUNTS";
  }
  const dataDir = flags.dataDir ?? parsed.data.BROKER_SYNC_DATA_DIR ?? "./data";
  // WF_USERNAME is read only so that the runbook's environment is accepted: Wealthfolio is
  // single-user and logs in with a password alone.
  const e = parsed.data;
  return {
    dataDir,
    accounts,
    accountsSource,
    accountMap,
    pushgatewayUrl,
    wealthfolio: e.WF_BASE_URL === undefined ? null : {
      baseUrl: e.WF_BASE_URL,
      password: e.WF_PASSWORD ?? null,
      sessionPath: e.WF_SESSION_PATH ?? `${dataDir.replace(/\/+$/, "")}/${SESSION_FILE}`,
      defaultAccountId: e.IBKR_ACCOUNT_ID ?? null,
    },
  };
}

/** The basic-auth password of PUSHGATEWAY_URL, decoded as it will be sent (never quoted). */
function pushgatewayPassword(url: string): string {
  const { username, password } = new URL(url);
  try {
    decodeURIComponent(username);
    return decodeURIComponent(password);
  } catch {
    throw new ConfigError(
      "PUSHGATEWAY_URL: the user or password has a % that starts no escape; write % as %25",
    );
  }
}

/** The session cache's file name inside the data dir (WF_SESSION_PATH overrides). */
export const SESSION_FILE = "wealthfolio-session.json";
