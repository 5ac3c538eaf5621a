/**
 * Configuration from the environment (the runbook's variable names), validated once with zod.
 * Flags override the environment. Only the variables listed here are ever read, which is what
 * lets the binary run with `--allow-env` scoped to exactly these names.
 */
import { z } from "zod";

/** Every environment variable broker-sync reads. */
export const ENV_VARS = [
  "BROKER_SYNC_DATA_DIR",
  "IBKR_ACCOUNT_ID_UPSTREAM",
  "IBKR_ACCOUNTS",
  "IBKR_FLEX_TOKEN",
  "IBKR_FLEX_QUERY_ID",
  "IBKR_FLEX_BASE_URL",
  "IBKR_FLEX_TOKEN_EXPIRES",
  "IBKR_FLEX_USER_AGENT",
  "IBKR_FLEX_POLL_SECONDS",
  "NO_COLOR",
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

const EnvSchema = z.object({
  BROKER_SYNC_DATA_DIR: z.string().min(1).optional(),
  IBKR_ACCOUNT_ID_UPSTREAM: accountList.optional(),
  IBKR_ACCOUNTS: accountMap.optional(),
});

export interface Config {
  readonly dataDir: string;
  /** Accepted IBKR account ids for the account guard; empty accepts any. */
  readonly accounts: readonly string[];
  /** Where `accounts` came from, for messages: a flag or variable name, or null when unset. */
  readonly accountsSource: string | null;
  readonly accountMap: Readonly<Record<string, string>>;
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
  if (accounts.length === 0 && Object.keys(accountMap).length) {
    accounts = Object.keys(accountMap);
    accountsSource = "IBKR_ACCOUNTS";
  }
  return {
    dataDir: flags.dataDir ?? parsed.data.BROKER_SYNC_DATA_DIR ?? "./data",
    accounts,
    accountsSource,
    accountMap,
  };
}
