/**
 * An in-process loopback fake of the Wealthfolio 3.2 server REST API (`/api/v1`), built from
 * /work/shared/contracts/wealthfolio-api.md ("the contract"; § numbers below refer to it).
 *
 * It speaks real HTTP on 127.0.0.1 (node:http, because a fault must be able to close a connection
 * without answering, which Deno.serve cannot do), keeps everything in memory and is inspectable
 * through `state`.
 *
 * ## Deliberate simplifications
 * - No market data, no FX: holdings book each activity in its own currency's cash line (one cash
 *   item per activity currency), `fxRate` is 1 and `base` values equal `local` values; `price` is
 *   the last unit price seen in an activity (no quotes), cost basis is average cost (the real server
 *   uses FIFO lots; quantities are identical).
 * - `accountId=TOTAL` sums the snapshots of non-archived accounts per asset and per currency.
 * - Asset auto-creation never does a live lookup; the Yahoo-suffix → MIC table and the
 *   MIC → quote-currency table (`SUFFIX_MIC`, `MIC_INFO` below) are ours, a subset of upstream.
 * - Preparation of a bulk request collects every error (not only the first).
 * - Auto-created assets of a bulk/POST that fails (errors[], 400 or 409) are discarded too; the real
 *   server may keep them (it creates them outside the activity transaction).
 * - 422 messages follow serde/serde_path_to_error wording (`creates[0]: missing field \`x\``) but
 *   without the trailing ` at line L column C`; 400 JSON-syntax messages carry the JS parser's text.
 * - Not implemented (answer 501 JSON): /activities/import, /import/check, /import/parse,
 *   /import/assets/preview, /activities/link, /activities/unlink. Other unknown paths answer 404
 *   with an empty body and without auth (the real server would fall back to its static UI).
 *
 * ## Choices where the contract is silent
 * - Auth: expiry has no leeway (a token is valid while now < exp, in whole seconds); the JWT `sub`
 *   is checked to be "wealthfolio-web"; the sliding-refresh cookie is added to every response of an
 *   authenticated protected request (any status), whether the token came by header or cookie.
 *   loginStyle "body" (3.0) sets no cookie, ignores cookies on requests and sends no refresh cookie.
 *   /auth/logout always answers 204 (+ `Max-Age=0` cookie in cookie style) and revokes nothing.
 *   `Secure` is added to cookies when the request has `X-Forwarded-Proto: https`
 *   (WF_COOKIE_SECURE=auto).
 * - Login 429 (tower_governor default): plain text `Too Many Requests! Wait for Ns` with headers
 *   `retry-after` and `x-ratelimit-after`; every login attempt (good, bad, or 404) takes a token.
 *   The rate limit runs before body extraction, and 415/400/422 come before the 404/401 checks.
 * - Order of checks: route (404) → auth (401) → method (405, empty body) → Content-Type (415) →
 *   body limit (413, `Failed to buffer the request body: length limit exceeded`) → JSON syntax
 *   (400) → deserialisation (422) → handler. Bodies are always read in full before answering.
 * - Error wording not quoted by the contract is ours; activity validation errors use the prefix
 *   `Activity error: Invalid data: ` (as the duplicate message does); unknown records (account on
 *   creates[0], activity/account id on PUT/DELETE, unknown update/delete ids in bulk) say
 *   `Database operation failed: Record not found: Record not found`.
 * - Bulk: deletes are applied first, then updates, then creates (so a batch may delete X and
 *   re-create X's key). A create whose account (other than creates[0]'s) does not exist fails the
 *   whole batch with 409 (the FK constraint; ConstraintViolation → 409). All creates resolve their
 *   fallback currency against creates[0]'s account (§4.5). Error items: `id` is the create's client
 *   `id` (or null), or the update/delete id. In-batch duplicates name the earlier create's new id.
 * - Quote currency of a new MARKET security created on the activity path: `symbol.quoteCcy`, else
 *   the MIC's currency (explicit `exchangeMic` or suffix; XLON → GBp), else the 400 "Quote currency
 *   is required. Please re-select the symbol." MANUAL/CRYPTO/FX fall back to the activity, then
 *   the account currency. POST /assets keeps the quoteCcy it is sent (GBP stays GBP).
 * - Symbols: trimmed, case kept. Rejected as garbage: no letter/digit, control characters, longer
 *   than 64, or a `$` prefix that is not a cash pattern. `$CASH-GBP` is accepted and becomes a
 *   CRYPTO asset `$CASH`/GBP (§4.11: `X-<ccy>` is a crypto pair); `$CASH_GBP`/`CASH:GBP` become
 *   equities and so need a quoteCcy. A crypto pair needs a known 3-letter quote currency.
 *   Unknown `instrumentType` strings are ignored (kind inferred). `symbol.id` naming an unknown
 *   asset falls back to `symbol.symbol`, else is a preparation error.
 * - `activityType` is stored as sent (not upper-cased); unknown types have no effect on holdings.
 *   `sourceSystem` defaults to "MANUAL"; `needsReview` to false; `isUserModified` stays false.
 *   `metadata` must be a JSON string (an object gives 422); invalid JSON in it is a preparation
 *   error; it is answered as the parsed value. Decimal strings keep their scale; JSON numbers use their JS
 *   text; GBp/GBX ÷100 results are normalised (no trailing zeros). Accepted decimal strings:
 *   `[+-]digits[.digits]`; anything else is 422. `""` and null mean "no value".
 * - PUT /activities: decimals absent = keep, null/"" = clear (GBp ÷100 applies only to values sent);
 *   `symbol` absent = keep the asset, null = clear it; other optional fields absent = keep.
 * - Content key: hex SHA-256 of the `|`-joined fields of §4.8 (null → ""), decimals normalised
 *   by decimal.js, values after abs/GBp/TRANSFER rules. It is not byte-compatible with upstream.
 * - ActivityDetails.amount, when not stored, is quantity × unitPrice with rust_decimal's scale
 *   (the sum of the scales: "10" × "85.12" → "851.20").
 * - Search: ties in the sort are broken by insertion order (ascending); NULLs sort first ascending;
 *   a negative pageSize means no limit (SQLite LIMIT -1), a negative page is offset 0.
 * - Holdings: cash effects: BUY −(q·p+fee) (amount when q·p is unknown), SELL +(q·p−fee),
 *   DIVIDEND/INTEREST +(amount−fee) (amount defaults to q·p), DEPOSIT +(amount−fee),
 *   WITHDRAWAL −(amount+fee), cash TRANSFER_IN +(amount−fee), cash TRANSFER_OUT −(amount+fee),
 *   asset TRANSFER_IN/OUT ±q and −fee, FEE −(amount if > 0 else fee), TAX −(amount+fee),
 *   CREDIT +(amount−fee), SPLIT q×amount (ignored when amount is 0/absent); ADJUSTMENT, UNKNOWN
 *   and other types: nothing. Activities are applied by date, then insertion order. Negative positions are
 *   kept; zero ones are omitted. Order: securities by symbol, then cash by currency.
 *   Every account that is not HOLDINGS-mode is recalculated (archived and inactive ones too).
 * - Recalculation: every write (activity or account) restarts a `recalcLagMs` debounce measured on
 *   `clock()`; it is applied lazily by GET /holdings / `holdings()` and by a real timer that emits
 *   the SSE events. POST /portfolio/update|recalculate (optional `{"accountIds":[…]}`) recalculates
 *   synchronously and then answers 202 (empty body). SSE: `event: portfolio:update-start` and
 *   `event: portfolio:update-complete`, each with `data: null`; no keep-alive comments.
 * - Faults: matched in queue order against the method (case-insensitive) and path (a string
 *   matches the pathname exactly, with or without the `/api/v1` prefix; a RegExp is tested on the
 *   pathname); one fault per request. `status`/`drop` act before handling unless `afterHandling`
 *   (then the request is processed and its answer replaced/lost). `delay` waits, then handles the
 *   request even if the client has gone. `expireSession` is taken by the next matching protected
 *   request that carries a validly signed token (auth configured): that token and every token
 *   issued in the same second or before become expired, and later logins get a later `iat`.
 *   A dropped request is logged with status 0. Because fetch clients (hyper) silently retry a
 *   request whose reused keep-alive connection closes unanswered, queueing a `drop` closes idle
 *   connections and, while a drop is pending, answers carry `Connection: close`: the drop reaches
 *   the client as an error. Default fault bodies: 500 `{"code":500,"message":"Internal Server
 *   Error"}`, 408 empty, 429/502/503 the plain reason phrase; `headers` are added as given.
 * - Holds (`hold()`, for tests that kill a client at a chosen step): the first matching request
 *   after `skip` others is held — before it is handled, or after (its writes done, its answer not
 *   yet sent) — until the test releases it: `answer` goes on as usual (a request held before
 *   handling is then handled even though its client may be gone, as a server that already read
 *   the request would), `drop` closes the connection (before handling: nothing is written).
 *   Holds are matched like faults and before them; `close()` drops every held request. Like a
 *   queued drop, a queued hold closes idle connections and makes answers `Connection: close`.
 * - Accounts: list in insertion order; POST with an existing `id` → 409; empty name or currency →
 *   400; `group` stays null unless sent; isDefault does not unset other accounts; DELETE of an
 *   unknown id → 400. `addAccount()` defaults: SECURITIES, NOT_SET (the server default), active.
 * - /settings answers `{"baseCurrency":"USD"}`; /app/info `{"version":"3.2.1",...}`.
 * - Request log `path` is the pathname (no query); `at` is `clock()`; `bodyBytes` the request body.
 */
import http from "node:http";
import type { Socket } from "node:net";
import { Buffer } from "node:buffer";
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { Decimal } from "decimal.js";

// ---------------------------------------------------------------------------------------------
// Public types

export type TrackingMode = "TRANSACTIONS" | "HOLDINGS" | "NOT_SET";

export interface Account {
  id: string;
  name: string;
  accountType: string;
  group: string | null;
  currency: string;
  isDefault: boolean;
  isActive: boolean;
  isArchived: boolean;
  trackingMode: TrackingMode;
  createdAt: string;
  updatedAt: string;
  platformId: string | null;
  accountNumber: string | null;
  meta: string | null;
  provider: string | null;
  providerAccountId: string | null;
}

export interface Asset {
  id: string;
  kind: string;
  name: string | null;
  displayCode: string | null;
  notes: string | null;
  metadata: unknown;
  isActive: boolean;
  quoteMode: "MARKET" | "MANUAL";
  quoteCcy: string;
  instrumentType: string | null;
  instrumentSymbol: string | null;
  instrumentExchangeMic: string | null;
  instrumentKey: string | null;
  providerConfig: unknown;
  exchangeName: string | null;
  createdAt: string;
  updatedAt: string;
}

/** An activity as stored and as answered by POST/PUT/DELETE /activities and bulk. */
export interface Activity {
  id: string;
  accountId: string;
  assetId: string | null;
  activityType: string;
  activityTypeOverride: string | null;
  sourceType: string | null;
  subtype: string | null;
  status: "POSTED" | "PENDING" | "DRAFT" | "VOID";
  activityDate: string;
  settlementDate: string | null;
  quantity: string | null;
  unitPrice: string | null;
  amount: string | null;
  fee: string | null;
  currency: string;
  fxRate: string | null;
  notes: string | null;
  metadata: unknown;
  sourceSystem: string | null;
  sourceRecordId: string | null;
  sourceGroupId: string | null;
  idempotencyKey: string | null;
  importRunId: string | null;
  isUserModified: boolean;
  needsReview: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface HoldingInstrument {
  id: string;
  symbol: string;
  name: string | null;
  currency: string;
  notes: string | null;
  pricingMode: string | null;
  preferredProvider: string | null;
  exchangeMic: string | null;
  classifications: null;
}

export interface MoneyPair {
  local: number;
  base: number;
}

export interface Holding {
  id: string;
  accountId: string;
  holdingType: "security" | "cash";
  instrument: HoldingInstrument;
  assetKind: string | null;
  quantity: number;
  openDate: string | null;
  lots: null;
  contractMultiplier: number;
  localCurrency: string;
  baseCurrency: string;
  fxRate: number;
  marketValue: MoneyPair;
  costBasis: MoneyPair;
  price: number;
  purchasePrice: number | null;
  unrealizedGain: MoneyPair | null;
  unrealizedGainPct: number | null;
  realizedGain: null;
  realizedGainPct: null;
  totalGain: MoneyPair | null;
  totalGainPct: number | null;
  dayChange: null;
  dayChangePct: null;
  prevCloseValue: null;
  weight: number;
  asOfDate: string;
  metadata: null;
}

export interface RequestRecord {
  method: string;
  path: string;
  status: number;
  at: number;
  bodyBytes: number;
}

export interface WealthfolioState {
  readonly accounts: readonly Account[];
  readonly assets: readonly Asset[];
  readonly activities: readonly Activity[];
  readonly requests: readonly RequestRecord[];
  /** Number of completed recalculations (snapshot rebuilds). */
  readonly recalculations: number;
  /** Faults still queued. */
  readonly pendingFaults: number;
}

export interface FaultMatch {
  method?: string;
  path?: string | RegExp;
}

export type Fault =
  | {
    on?: FaultMatch;
    kind: "status";
    status: 500 | 502 | 503 | 408 | 429;
    body?: string | Record<string, unknown>;
    headers?: Record<string, string>;
    afterHandling?: boolean;
  }
  | { on?: FaultMatch; kind: "delay"; ms: number }
  | { on?: FaultMatch; kind: "drop"; afterHandling?: boolean }
  | { on?: FaultMatch; kind: "expireSession" };

export interface WealthfolioStandIn {
  readonly baseUrl: string;
  readonly state: WealthfolioState;
  readonly requests: readonly RequestRecord[];
  addAccount(
    a: Partial<Account> & {
      id?: string;
      name: string;
      currency: string;
      trackingMode?: TrackingMode;
    },
  ): Account;
  fault(f: Fault): void;
  /** Holds the next matching request (after `skip` others) until released; see the header. */
  hold(on: FaultMatch, options?: { afterHandling?: boolean; skip?: number }): Hold;
  holdings(accountId: string): Holding[];
  close(): Promise<void>;
}

/** A request held by `hold()`. */
export interface Hold {
  /** Resolves once the request is held (with `afterHandling`, once it has been handled too). */
  readonly reached: Promise<void>;
  /** Whether the request has been held yet. */
  readonly isReached: boolean;
  /** Lets the request go on (`answer`, the default) or closes its connection (`drop`). */
  release(how?: "answer" | "drop"): void;
}

interface HoldEntry {
  readonly on: FaultMatch;
  readonly afterHandling: boolean;
  skip: number;
  arrive(): void;
  readonly released: Promise<"answer" | "drop">;
  release(how: "answer" | "drop"): void;
}

export interface WealthfolioStandInOptions {
  password?: string | null;
  tokenTtlSeconds?: number;
  loginStyle?: "cookie" | "body";
  recalcLagMs?: number;
  clock?: () => number;
  loginRateLimit?: { burst: number; refillSeconds: number };
  bodyLimitBytes?: number;
}

// ---------------------------------------------------------------------------------------------
// Tables (ours)

/** Yahoo suffix → MIC. Ours: a subset of upstream's table in crates/core/src/assets/asset_id.rs. */
const SUFFIX_MIC: Record<string, string> = {
  L: "XLON",
  IL: "XLON",
  TO: "XTSE",
  V: "XTSX",
  NE: "XNEO",
  DE: "XETR",
  F: "XFRA",
  AS: "XAMS",
  PA: "XPAR",
  BR: "XBRU",
  LS: "XLIS",
  SW: "XSWX",
  MI: "XMIL",
  MC: "XMAD",
  ST: "XSTO",
  CO: "XCSE",
  OL: "XOSL",
  HE: "XHEL",
  VI: "XWBO",
  IR: "XDUB",
  AX: "XASX",
  NZ: "XNZE",
  HK: "XHKG",
  T: "XTKS",
  SI: "XSES",
};

/** MIC → [quote currency (mic_to_currency), exchange name]. Ours, a subset. */
const MIC_INFO: Record<string, [string, string]> = {
  XLON: ["GBp", "London Stock Exchange"],
  XTSE: ["CAD", "Toronto Stock Exchange"],
  XTSX: ["CAD", "TSX Venture Exchange"],
  XNEO: ["CAD", "Cboe Canada"],
  XETR: ["EUR", "Xetra"],
  XFRA: ["EUR", "Frankfurt Stock Exchange"],
  XAMS: ["EUR", "Euronext Amsterdam"],
  XPAR: ["EUR", "Euronext Paris"],
  XBRU: ["EUR", "Euronext Brussels"],
  XLIS: ["EUR", "Euronext Lisbon"],
  XSWX: ["CHF", "SIX Swiss Exchange"],
  XMIL: ["EUR", "Borsa Italiana"],
  XMAD: ["EUR", "Bolsa de Madrid"],
  XSTO: ["SEK", "Nasdaq Stockholm"],
  XCSE: ["DKK", "Nasdaq Copenhagen"],
  XOSL: ["NOK", "Oslo Bors"],
  XHEL: ["EUR", "Nasdaq Helsinki"],
  XWBO: ["EUR", "Wiener Borse"],
  XDUB: ["EUR", "Euronext Dublin"],
  XASX: ["AUD", "Australian Securities Exchange"],
  XNZE: ["NZD", "NZX"],
  XHKG: ["HKD", "Hong Kong Stock Exchange"],
  XTKS: ["JPY", "Tokyo Stock Exchange"],
  XSES: ["SGD", "Singapore Exchange"],
  XNYS: ["USD", "New York Stock Exchange"],
  XNAS: ["USD", "Nasdaq"],
  ARCX: ["USD", "NYSE Arca"],
  BATS: ["USD", "Cboe BZX"],
  XASE: ["USD", "NYSE American"],
};

const FIAT = new Set(
  (
    "USD EUR GBP JPY CHF CAD AUD NZD HKD SGD SEK NOK DKK PLN CZK HUF TRY ZAR MXN BRL INR CNY KRW " +
    "ILS RUB THB TWD IDR MYR PHP AED SAR CLP COP ARS ISK RON BGN"
  ).split(" "),
);

/** Tickers inferred as crypto when no MIC is known (ours). */
const CRYPTO_TICKERS = new Set(
  "BTC ETH SOL XRP ADA DOGE DOT LTC USDT USDC BNB AVAX MATIC LINK TRX XLM BCH SHIB".split(" "),
);

const INSTRUMENT_ALIASES: Record<string, string> = {
  EQUITY: "EQUITY",
  STOCK: "EQUITY",
  STOCKS: "EQUITY",
  ETF: "EQUITY",
  SHARE: "EQUITY",
  COMMON_STOCK: "EQUITY",
  MUTUALFUND: "EQUITY",
  MUTUAL_FUND: "EQUITY",
  FUND: "EQUITY",
  CRYPTO: "CRYPTO",
  CRYPTOCURRENCY: "CRYPTO",
  FX: "FX",
  FOREX: "FX",
  CURRENCY: "FX",
  OPTION: "OPTION",
  OPTIONS: "OPTION",
  METAL: "METAL",
  PRECIOUS_METAL: "METAL",
  BOND: "BOND",
  FIXED_INCOME: "BOND",
};

const ASSET_KINDS = [
  "INVESTMENT",
  "PROPERTY",
  "VEHICLE",
  "COLLECTIBLE",
  "PRECIOUS_METAL",
  "PRIVATE_EQUITY",
  "LIABILITY",
  "OTHER",
  "FX",
] as const;

const NEEDS_ASSET = new Set(["BUY", "SELL", "SPLIT", "DIVIDEND", "ADJUSTMENT"]);
const STATUSES = ["POSTED", "PENDING", "DRAFT", "VOID"] as const;
const TRACKING_MODES = ["TRANSACTIONS", "HOLDINGS", "NOT_SET"] as const;
const BASE_CURRENCY = "USD";
const NOT_FOUND = "Database operation failed: Record not found: Record not found";
const JSON_CT = "application/json";

// ---------------------------------------------------------------------------------------------
// Errors

/** A handler error answered as `{"code","message"}` JSON. */
class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** An Axum extractor rejection answered as plain text. */
class Rejection extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function invalidData(msg: string): ApiError {
  return new ApiError(400, `Activity error: Invalid data: ${msg}`);
}

function duplicateError(existingId: string): ApiError {
  return invalidData(
    `Duplicate activity detected. A matching activity already exists (id: ${existingId}).`,
  );
}

// ---------------------------------------------------------------------------------------------
// serde-like deserialisation (422 on missing/mistyped fields)

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "boolean") return `boolean \`${v}\``;
  if (typeof v === "number") {
    return Number.isInteger(v) ? `integer \`${v}\`` : `floating point \`${v}\``;
  }
  if (typeof v === "string") return `string ${JSON.stringify(v)}`;
  if (Array.isArray(v)) return "sequence";
  return "map";
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function deErr(path: string, msg: string): Rejection {
  return new Rejection(
    422,
    `Failed to deserialize the JSON body into the target type: ${path ? `${path}: ` : ""}${msg}`,
  );
}

const PLAIN_DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

class De {
  private constructor(private readonly o: Record<string, unknown>, readonly path: string) {}

  static of(v: unknown, struct: string, path = ""): De {
    if (!isObject(v)) throw deErr(path, `invalid type: ${describe(v)}, expected struct ${struct}`);
    return new De(v, path);
  }

  private fp(k: string): string {
    return this.path ? `${this.path}.${k}` : k;
  }

  has(k: string): boolean {
    return Object.hasOwn(this.o, k);
  }

  raw(k: string): unknown {
    return this.o[k];
  }

  private missing(k: string): Rejection {
    return deErr(this.path, `missing field \`${k}\``);
  }

  private bad(k: string, expected: string): Rejection {
    return deErr(this.fp(k), `invalid type: ${describe(this.o[k])}, expected ${expected}`);
  }

  reqStr(k: string): string {
    if (!this.has(k)) throw this.missing(k);
    const v = this.o[k];
    if (typeof v !== "string") throw this.bad(k, "a string");
    return v;
  }

  /** undefined = absent, null = null. */
  optStr(k: string): string | null | undefined {
    if (!this.has(k)) return undefined;
    const v = this.o[k];
    if (v === null) return null;
    if (typeof v !== "string") throw this.bad(k, "a string");
    return v;
  }

  reqBool(k: string): boolean {
    if (!this.has(k)) throw this.missing(k);
    const v = this.o[k];
    if (typeof v !== "boolean") throw this.bad(k, "a boolean");
    return v;
  }

  optBool(k: string): boolean | null | undefined {
    if (!this.has(k)) return undefined;
    const v = this.o[k];
    if (v === null) return null;
    if (typeof v !== "boolean") throw this.bad(k, "a boolean");
    return v;
  }

  reqI64(k: string): number {
    if (!this.has(k)) throw this.missing(k);
    const v = this.o[k];
    if (typeof v !== "number" || !Number.isInteger(v)) throw this.bad(k, "i64");
    return v;
  }

  optEnum<T extends string>(k: string, variants: readonly T[]): T | null | undefined {
    const v = this.optStr(k);
    if (v === undefined || v === null) return v;
    if (!(variants as readonly string[]).includes(v)) {
      throw deErr(
        this.fp(k),
        `unknown variant \`${v}\`, expected one of ${variants.map((x) => `\`${x}\``).join(", ")}`,
      );
    }
    return v as T;
  }

  reqEnum<T extends string>(k: string, variants: readonly T[]): T {
    if (!this.has(k)) throw this.missing(k);
    const v = this.optEnum(k, variants);
    if (v === null || v === undefined) throw this.bad(k, "a string");
    return v;
  }

  /** A decimal given as string or number; "" and null → null; absent → undefined. */
  optDecimal(k: string): string | null | undefined {
    if (!this.has(k)) return undefined;
    const v = this.o[k];
    if (v === null || v === "") return null;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) throw this.bad(k, "a Decimal");
      const s = String(v);
      return PLAIN_DECIMAL.test(s) ? s : new Decimal(v).toFixed();
    }
    if (typeof v === "string") {
      const s = v.trim();
      if (PLAIN_DECIMAL.test(s)) return s;
      throw deErr(
        this.fp(k),
        `invalid value: string ${
          JSON.stringify(v)
        }, expected a Decimal type representing a fixed-point number`,
      );
    }
    throw this.bad(k, "a Decimal type representing a fixed-point number");
  }

  /** `string | string[]` (an untagged enum upstream). */
  optStrOrVec(k: string): string[] | undefined {
    if (!this.has(k)) return undefined;
    const v = this.o[k];
    if (v === null) return undefined;
    if (typeof v === "string") return [v];
    if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
    throw deErr(this.fp(k), "data did not match any variant of untagged enum StringOrVec");
  }

  reqStrVec(k: string): string[] {
    if (!this.has(k)) throw this.missing(k);
    const v = this.o[k];
    if (!Array.isArray(v)) throw this.bad(k, "a sequence");
    v.forEach((x, i) => {
      if (typeof x !== "string") {
        throw deErr(`${this.fp(k)}[${i}]`, `invalid type: ${describe(x)}, expected a string`);
      }
    });
    return v as string[];
  }

  /** A `Vec<T>` that defaults to empty when absent. */
  optVec(k: string): unknown[] {
    if (!this.has(k)) return [];
    const v = this.o[k];
    if (!Array.isArray(v)) throw this.bad(k, "a sequence");
    return v;
  }

  optObj(k: string, struct: string): De | null | undefined {
    if (!this.has(k)) return undefined;
    const v = this.o[k];
    if (v === null) return null;
    return De.of(v, struct, this.fp(k));
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function naiveTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace("Z", "") + "000";
}

function rfc3339(ms: number): string {
  const iso = new Date(ms).toISOString();
  return (iso.endsWith(".000Z") ? iso.slice(0, -5) : iso.slice(0, -1)) + "+00:00";
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const RFC3339_RE =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parses `YYYY-MM-DD` (→ midnight UTC) or RFC3339; null when invalid. */
function parseActivityDate(s: string): number | null {
  const t = s.trim();
  const d = DATE_ONLY.exec(t);
  if (d) {
    const ms = Date.UTC(+d[1], +d[2] - 1, +d[3]);
    const back = new Date(ms);
    if (back.getUTCMonth() !== +d[2] - 1 || back.getUTCDate() !== +d[3]) return null;
    return ms;
  }
  const m = RFC3339_RE.exec(t);
  if (!m) return null;
  if (+m[2] < 1 || +m[2] > 12 || +m[3] < 1 || +m[3] > 31 || +m[4] > 23 || +m[5] > 59) return null;
  const ms = Date.parse(t.replace(/ /, "T"));
  return Number.isNaN(ms) ? null : ms;
}

/** Absolute value keeping the scale of the input: "-3.00" → "3.00". */
function absKeepScale(s: string): string {
  const frac = /\.(\d*)$/.exec(s);
  const scale = frac ? frac[1].length : 0;
  return new Decimal(s).abs().toFixed(scale);
}

function scaleOf(s: string): number {
  const frac = /\.(\d*)$/.exec(s);
  return frac ? frac[1].length : 0;
}

/** Product with rust_decimal's scale (the sum of the scales): "10" × "85.12" → "851.20". */
function mulKeepScale(a: string, b: string): string {
  return new Decimal(a).times(b).toFixed(scaleOf(a) + scaleOf(b));
}

function normDecimal(s: string | null): string {
  return s === null ? "" : new Decimal(s).toFixed();
}

function dec(s: string | null | undefined): Decimal | null {
  return s === null || s === undefined ? null : new Decimal(s);
}

function num(d: Decimal): number {
  return Number(d.toString());
}

function isMinorGbp(ccy: string): boolean {
  return ccy === "GBp" || ccy.toUpperCase() === "GBX";
}

function sha256Hex(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}

function blank(s: string | null | undefined): boolean {
  return s === null || s === undefined || s.trim() === "";
}

function matchesLike(hay: string | null, kw: string): boolean {
  return hay !== null && hay.toLowerCase().includes(kw.toLowerCase());
}

// ---------------------------------------------------------------------------------------------
// Symbol handling (§4.4 step 2, §4.10, §4.11)

const CASH_PATTERN = /^\$?CASH[-_:][A-Za-z]{3}$/i;
const OCC_RE = /^[A-Za-z]{1,6}\s*\d{6}[CP]\d{8}$/;

function isGarbageSymbol(s: string): boolean {
  if (s.length > 64) return true;
  if (!/[A-Za-z0-9]/.test(s)) return true;
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(s)) return true;
  if (s.startsWith("$") && !CASH_PATTERN.test(s)) return true;
  return false;
}

function cryptoPair(s: string): [string, string] | null {
  const m = /^(.+)-([A-Za-z]{3})$/.exec(s);
  if (!m || !FIAT.has(m[2].toUpperCase())) return null;
  return [m[1], m[2].toUpperCase()];
}

function fxPair(s: string): [string, string] | null {
  const m = /^([A-Za-z]{3})[/-]?([A-Za-z]{3})(=X)?$/.exec(s);
  return m ? [m[1].toUpperCase(), m[2].toUpperCase()] : null;
}

function splitSuffix(s: string): [string, string | null] {
  const i = s.lastIndexOf(".");
  if (i <= 0) return [s, null];
  const mic = SUFFIX_MIC[s.slice(i + 1).toUpperCase()];
  return mic ? [s.slice(0, i), mic] : [s, null];
}

function normInstrumentType(s: string | null | undefined): string | null {
  if (blank(s)) return null;
  return INSTRUMENT_ALIASES[s!.trim().toUpperCase().replace(/[\s-]/g, "_")] ?? null;
}

function instrumentKey(type: string, symbol: string, mic: string | null, quote: string): string {
  if (type === "CRYPTO" || type === "FX") return `${type}:${symbol}/${quote}`;
  return mic ? `${type}:${symbol}@${mic}` : `${type}:${symbol}`;
}

interface SymbolInput {
  id?: string | null;
  symbol?: string | null;
  exchangeMic?: string | null;
  kind?: string | null;
  name?: string | null;
  quoteMode?: "MARKET" | "MANUAL" | null;
  quoteCcy?: string | null;
  instrumentType?: string | null;
}

function readSymbolInput(d: De): SymbolInput {
  return {
    id: d.optStr("id"),
    symbol: d.optStr("symbol"),
    exchangeMic: d.optStr("exchangeMic"),
    kind: d.optStr("kind"),
    name: d.optStr("name"),
    quoteMode: d.optEnum("quoteMode", ["MARKET", "MANUAL"] as const),
    quoteCcy: d.optStr("quoteCcy"),
    instrumentType: d.optStr("instrumentType"),
  };
}

// ---------------------------------------------------------------------------------------------
// Activity input

interface ActivityInput {
  tempId: string | null;
  accountId: string;
  activityType: string;
  activityDate: string;
  currency: string;
  /** undefined = absent (update: keep), null = explicit null. */
  symbol: SymbolInput | null | undefined;
  subtype: string | null | undefined;
  quantity: string | null | undefined;
  unitPrice: string | null | undefined;
  amount: string | null | undefined;
  fee: string | null | undefined;
  fxRate: string | null | undefined;
  status: Activity["status"] | null | undefined;
  notes: string | null | undefined;
  metadata: string | null | undefined;
  needsReview: boolean | null | undefined;
  sourceSystem: string | null | undefined;
  sourceRecordId: string | null | undefined;
  sourceGroupId: string | null | undefined;
  idempotencyKey: string | null | undefined;
}

function readActivityInput(d: De, isUpdate: boolean): ActivityInput {
  const symbolKey = d.has("symbol") ? "symbol" : d.has("asset") ? "asset" : null;
  const notesKey = d.has("notes") ? "notes" : d.has("comment") ? "comment" : "notes";
  const id = isUpdate ? d.reqStr("id") : d.optStr("id") ?? null;
  const accountId = d.reqStr("accountId");
  const activityType = d.reqStr("activityType");
  const activityDate = d.reqStr("activityDate");
  const currency = d.reqStr("currency");
  let symbol: SymbolInput | null | undefined = undefined;
  if (symbolKey) {
    const sd = d.optObj(symbolKey, "SymbolInput");
    symbol = sd === null || sd === undefined ? sd : readSymbolInput(sd);
  }
  return {
    tempId: id,
    accountId,
    activityType,
    activityDate,
    currency,
    symbol,
    subtype: d.optStr("subtype"),
    quantity: d.optDecimal("quantity"),
    unitPrice: d.optDecimal("unitPrice"),
    amount: d.optDecimal("amount"),
    fee: d.optDecimal("fee"),
    fxRate: d.optDecimal("fxRate"),
    status: d.optEnum("status", STATUSES),
    notes: d.optStr(notesKey),
    metadata: d.optStr("metadata"),
    needsReview: d.optBool("needsReview"),
    sourceSystem: d.optStr("sourceSystem"),
    sourceRecordId: d.optStr("sourceRecordId"),
    sourceGroupId: d.optStr("sourceGroupId"),
    idempotencyKey: d.optStr("idempotencyKey"),
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP plumbing types

interface Resp {
  status: number;
  headers: Record<string, string | string[]>;
  body: string;
  sse?: boolean;
}

function jsonResp(status: number, value: unknown): Resp {
  return { status, headers: { "content-type": JSON_CT }, body: JSON.stringify(value) };
}

function textResp(status: number, text: string): Resp {
  return { status, headers: { "content-type": "text/plain; charset=utf-8" }, body: text };
}

function emptyResp(status: number): Resp {
  return { status, headers: {}, body: "" };
}

function errorResp(status: number, message: string): Resp {
  return jsonResp(status, { code: status, message });
}

interface Ctx {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: Uint8Array;
  peer: string;
}

interface Route {
  method: string;
  pattern: RegExp;
  open?: boolean;
  json?: boolean;
  handler: (ctx: Ctx, params: string[], body: unknown) => Resp;
}

const REASONS: Record<number, string> = {
  408: "Request Timeout",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

// ---------------------------------------------------------------------------------------------
// The stand-in

interface Position {
  assetId: string;
  qty: Decimal;
  cost: Decimal;
  lastPrice: Decimal | null;
  openDate: string | null;
}

class StandIn implements WealthfolioStandIn {
  baseUrl = "";
  private readonly accounts = new Map<string, Account>();
  private readonly assets = new Map<string, Asset>();
  private readonly activities = new Map<string, Activity>();
  private readonly seqOf = new Map<string, number>();
  private seq = 0;
  private readonly keyIndex = new Map<string, string>();
  private readonly log: RequestRecord[] = [];
  private readonly faults: Fault[] = [];
  private readonly holds: HoldEntry[] = [];
  private readonly snapshots = new Map<string, Holding[]>();
  private recalcCount = 0;
  private lastWriteAt: number | null = null;
  private recalcTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly sseClients = new Set<http.ServerResponse>();
  private readonly sockets = new Set<Socket>();
  /** Requests in flight per socket (to close only idle keep-alive connections). */
  private readonly busy = new Map<Socket, number>();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly jwtKey = randomBytes(32);
  private minIat = 0;
  private readonly abort = new AbortController();
  private readonly server: http.Server;
  private readonly routes: Route[];

  private readonly password: string | null;
  private readonly ttl: number;
  private readonly loginStyle: "cookie" | "body";
  private readonly lag: number;
  private readonly clock: () => number;
  private readonly rate: { burst: number; refillSeconds: number };
  private readonly bodyLimit: number;

  constructor(o: WealthfolioStandInOptions) {
    this.password = o.password ?? null;
    this.ttl = o.tokenTtlSeconds ?? 3600;
    this.loginStyle = o.loginStyle ?? "cookie";
    this.lag = o.recalcLagMs ?? 1000;
    this.clock = o.clock ?? Date.now;
    this.rate = o.loginRateLimit ?? { burst: 5, refillSeconds: 12 };
    this.bodyLimit = o.bodyLimitBytes ?? 2 * 1024 * 1024;
    this.routes = this.buildRoutes();
    this.server = http.createServer((req, res) => {
      const sock = req.socket;
      this.sockets.add(sock);
      this.busy.set(sock, (this.busy.get(sock) ?? 0) + 1);
      let done = false;
      const finished = () => {
        if (done) return;
        done = true;
        this.busy.set(sock, (this.busy.get(sock) ?? 1) - 1);
      };
      res.on("finish", finished);
      res.on("close", finished);
      this.serve(req, res).catch((e) => {
        console.error("wealthfolio stand-in: unhandled", e);
        if (!res.headersSent) {
          res.writeHead(500, { "content-type": JSON_CT });
          res.end(JSON.stringify({ code: 500, message: String(e) }));
        }
      });
    });
    this.server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => {
        this.sockets.delete(s);
        this.busy.delete(s);
      });
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", () => resolve()));
    const addr = this.server.address();
    const port = typeof addr === "object" && addr !== null ? addr.port : 0;
    this.baseUrl = `http://127.0.0.1:${port}`;
  }

  // ----- public API

  get state(): WealthfolioState {
    // deno-lint-ignore no-this-alias
    const self = this;
    return {
      get accounts() {
        return [...self.accounts.values()].map((a) => ({ ...a }));
      },
      get assets() {
        return [...self.assets.values()].map((a) => ({ ...a }));
      },
      get activities() {
        return [...self.activities.values()].map((a) => ({ ...a }));
      },
      get requests() {
        return self.log;
      },
      get recalculations() {
        return self.recalcCount;
      },
      get pendingFaults() {
        return self.faults.length;
      },
    };
  }

  get requests(): readonly RequestRecord[] {
    return this.log;
  }

  addAccount(
    a: Partial<Account> & {
      id?: string;
      name: string;
      currency: string;
      trackingMode?: TrackingMode;
    },
  ): Account {
    const now = naiveTimestamp(this.clock());
    const id = a.id ?? randomUUID();
    if (this.accounts.has(id)) throw new Error(`account ${id} exists`);
    const acct: Account = {
      id,
      name: a.name,
      accountType: a.accountType ?? "SECURITIES",
      group: a.group ?? null,
      currency: a.currency,
      isDefault: a.isDefault ?? false,
      isActive: a.isActive ?? true,
      isArchived: a.isArchived ?? false,
      trackingMode: a.trackingMode ?? "NOT_SET",
      createdAt: a.createdAt ?? now,
      updatedAt: a.updatedAt ?? now,
      platformId: a.platformId ?? null,
      accountNumber: a.accountNumber ?? null,
      meta: a.meta ?? null,
      provider: a.provider ?? null,
      providerAccountId: a.providerAccountId ?? null,
    };
    this.accounts.set(id, acct);
    return { ...acct };
  }

  fault(f: Fault): void {
    this.faults.push(f);
    // Deno's fetch (hyper) transparently retries a request whose *reused* keep-alive connection
    // closes without an answer. So that a drop is seen by the client, idle connections are closed
    // now and, while a drop is pending, every answer carries `Connection: close`.
    if (f.kind === "drop") {
      for (const s of this.sockets) if ((this.busy.get(s) ?? 0) === 0) s.destroy();
    }
  }

  hold(on: FaultMatch, options: { afterHandling?: boolean; skip?: number } = {}): Hold {
    let arrive!: () => void;
    const reached = new Promise<void>((resolve) => (arrive = resolve));
    let release!: (how: "answer" | "drop") => void;
    const released = new Promise<"answer" | "drop">((resolve) => (release = resolve));
    let isReached = false;
    const entry: HoldEntry = {
      on,
      afterHandling: options.afterHandling ?? false,
      skip: options.skip ?? 0,
      arrive: () => {
        isReached = true;
        arrive();
      },
      released,
      release,
    };
    this.holds.push(entry);
    // A held request may be dropped: as for a `drop` fault, it must not ride a reused
    // keep-alive connection, or the client's fetch would silently send it again.
    for (const sock of this.sockets) if ((this.busy.get(sock) ?? 0) === 0) sock.destroy();
    return {
      reached,
      get isReached() {
        return isReached;
      },
      release: (how = "answer") => release(how),
    };
  }

  holdings(accountId: string): Holding[] {
    this.applyDueRecalc();
    return structuredClone(this.holdingsFor(accountId));
  }

  async close(): Promise<void> {
    this.abort.abort();
    for (const h of this.holds.splice(0)) h.release("drop");
    if (this.recalcTimer !== null) clearTimeout(this.recalcTimer);
    this.recalcTimer = null;
    for (const c of this.sseClients) c.end();
    this.sseClients.clear();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ----- HTTP

  private takeFault(method: string, path: string, kinds: Fault["kind"][]): Fault | null {
    const i = this.faults.findIndex((f) =>
      kinds.includes(f.kind) && StandIn.matches(f.on ?? {}, method, path)
    );
    if (i < 0) return null;
    return this.faults.splice(i, 1)[0];
  }

  private static matches(on: FaultMatch, method: string, path: string): boolean {
    if (on.method && on.method.toUpperCase() !== method) return false;
    if (on.path !== undefined) {
      if (on.path instanceof RegExp) {
        on.path.lastIndex = 0;
        if (!on.path.test(path)) return false;
      } else if (on.path !== path && `/api/v1${on.path}` !== path) return false;
    }
    return true;
  }

  private takeHold(method: string, path: string): HoldEntry | null {
    const i = this.holds.findIndex((h) => StandIn.matches(h.on, method, path));
    if (i < 0) return null;
    const h = this.holds[i];
    if (h.skip > 0) {
      h.skip--;
      return null;
    }
    this.holds.splice(i, 1);
    return h;
  }

  private faultResp(f: Extract<Fault, { kind: "status" }>): Resp {
    let r: Resp;
    if (f.body === undefined) {
      if (f.status === 500) r = errorResp(500, REASONS[500]);
      else if (f.status === 408) r = emptyResp(408);
      else r = textResp(f.status, REASONS[f.status]);
    } else if (typeof f.body === "string") r = textResp(f.status, f.body);
    else r = jsonResp(f.status, f.body);
    r.headers = { ...r.headers, ...(f.headers ?? {}) };
    return r;
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = new Uint8Array(Buffer.concat(chunks));
    const method = (req.method ?? "GET").toUpperCase();
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const path = url.pathname;
    const record = (status: number) =>
      this.log.push({ method, path, status, at: this.clock(), bodyBytes: body.length });

    const hold = this.takeHold(method, path);
    if (hold && !hold.afterHandling) {
      hold.arrive();
      if (await hold.released === "drop" || this.abort.signal.aborted) {
        record(0);
        req.socket.destroy();
        return;
      }
    }
    const pre = this.takeFault(method, path, ["status", "delay", "drop"]);
    let after: Fault | null = null;
    if (pre?.kind === "delay") {
      await this.sleep(pre.ms);
      if (this.abort.signal.aborted) return;
    } else if (pre?.kind === "drop" && !pre.afterHandling) {
      record(0);
      req.socket.destroy();
      return;
    } else if (pre?.kind === "status" && !pre.afterHandling) {
      const r = this.faultResp(pre);
      record(r.status);
      this.write(res, r, req);
      return;
    } else if (pre) after = pre;

    const ctx: Ctx = {
      method,
      path,
      query: url.searchParams,
      headers: req.headers,
      body,
      peer: req.socket.remoteAddress ?? "unknown",
    };
    const r = this.dispatch(ctx);

    if (hold?.afterHandling) {
      hold.arrive();
      if (await hold.released === "drop" || this.abort.signal.aborted) {
        record(0);
        req.socket.destroy();
        return;
      }
    }
    if (after?.kind === "drop") {
      record(0);
      req.socket.destroy();
      return;
    }
    if (after?.kind === "status") {
      const fr = this.faultResp(after);
      record(fr.status);
      this.write(res, fr, req);
      return;
    }
    record(r.status);
    if (r.sse) {
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        ...r.headers,
      });
      res.flushHeaders();
      this.sseClients.add(res);
      res.on("close", () => this.sseClients.delete(res));
      return;
    }
    this.write(res, r, req);
  }

  private write(res: http.ServerResponse, r: Resp, req: http.IncomingMessage): void {
    const rid = req.headers["x-request-id"];
    const headers: Record<string, string | string[]> = {
      "x-request-id": typeof rid === "string" ? rid : randomUUID(),
      ...r.headers,
    };
    if (r.status !== 204 && r.status !== 304) {
      headers["content-length"] = String(Buffer.byteLength(r.body));
    }
    if (this.faults.some((f) => f.kind === "drop") || this.holds.length > 0) {
      headers.connection = "close";
    }
    res.writeHead(r.status, headers);
    res.end(r.status === 204 ? undefined : r.body);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.abort.signal.addEventListener("abort", done, { once: true });
    });
  }

  private dispatch(ctx: Ctx): Resp {
    const rel = ctx.path.startsWith("/api/v1/") ? ctx.path.slice("/api/v1".length) : null;
    if (rel === null) return emptyResp(404);
    const matching: [Route, string[]][] = [];
    for (const r of this.routes) {
      const m = r.pattern.exec(rel);
      if (m) matching.push([r, m.slice(1).map(decodeURIComponent)]);
    }
    if (matching.length === 0) return emptyResp(404);
    const protectedRoute = matching.some(([r]) => !r.open);
    let refreshCookie: string | null = null;
    if (protectedRoute && this.password !== null) {
      const auth = this.authenticate(ctx);
      if (auth === null) return errorResp(401, "Unauthorized");
      refreshCookie = auth.refresh;
    }
    const hit = matching.find(([r]) => r.method === ctx.method);
    let resp: Resp;
    if (!hit) {
      resp = emptyResp(405);
      resp.headers.allow = [...new Set(matching.map(([r]) => r.method))].join(",");
    } else {
      resp = this.invoke(ctx, hit[0], hit[1]);
    }
    if (refreshCookie) {
      const prev = resp.headers["set-cookie"];
      resp.headers["set-cookie"] = [
        ...(prev === undefined ? [] : Array.isArray(prev) ? prev : [prev]),
        refreshCookie,
      ];
    }
    return resp;
  }

  private invoke(ctx: Ctx, route: Route, params: string[]): Resp {
    try {
      let body: unknown = undefined;
      if (route.json) body = this.extractJson(ctx);
      return route.handler(ctx, params, body);
    } catch (e) {
      if (e instanceof Rejection) return textResp(e.status, e.message);
      if (e instanceof ApiError) return errorResp(e.status, e.message);
      throw e;
    }
  }

  /** Axum's `Json<T>` extractor: 415, then 413, then 400 (syntax). */
  private extractJson(ctx: Ctx): unknown {
    const ct = String(ctx.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
    const ok = ct === JSON_CT || (ct.startsWith("application/") && ct.endsWith("+json"));
    if (!ok) throw new Rejection(415, "Expected request with `Content-Type: application/json`");
    if (ctx.body.length > this.bodyLimit) {
      throw new Rejection(413, "Failed to buffer the request body: length limit exceeded");
    }
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(ctx.body);
    } catch {
      throw new Rejection(400, "Failed to parse the request body as JSON: invalid unicode");
    }
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new Rejection(
        400,
        `Failed to parse the request body as JSON: ${e instanceof Error ? e.message : e}`,
      );
    }
  }

  // ----- auth

  private nowSec(): number {
    return Math.floor(this.clock() / 1000);
  }

  private signToken(): string {
    const iat = Math.max(this.nowSec(), this.minIat);
    const h = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");
    const p = Buffer.from(JSON.stringify({ sub: "wealthfolio-web", iat, exp: iat + this.ttl }))
      .toString("base64url");
    const s = createHmac("sha256", this.jwtKey).update(`${h}.${p}`).digest("base64url");
    return `${h}.${p}.${s}`;
  }

  /** The claims of a well-signed token (expiry not checked), or null. */
  private decodeToken(token: string): { iat: number; exp: number } | null {
    const parts = token.split(".");
    if (parts.length !== 3) return null;
    const want = createHmac("sha256", this.jwtKey).update(`${parts[0]}.${parts[1]}`).digest();
    const got = Buffer.from(parts[2], "base64url");
    if (got.length !== want.length || !timingSafeEqual(got, want)) return null;
    try {
      const header = JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8"));
      const claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
      if (header?.alg !== "HS256") return null;
      if (claims?.sub !== "wealthfolio-web") return null;
      if (typeof claims.iat !== "number" || typeof claims.exp !== "number") return null;
      return { iat: claims.iat, exp: claims.exp };
    } catch {
      return null;
    }
  }

  private cookie(token: string, maxAge: number, ctx: Ctx): string {
    const secure = String(ctx.headers["x-forwarded-proto"] ?? "").toLowerCase() === "https";
    return `wf_session=${token}; HttpOnly; SameSite=Lax; Path=/api; Max-Age=${maxAge}${
      secure ? "; Secure" : ""
    }`;
  }

  private tokenOf(ctx: Ctx): string | null | false {
    const auth = ctx.headers.authorization;
    if (auth !== undefined) {
      const v = Array.isArray(auth) ? auth[0] : auth;
      return v.startsWith("Bearer ") ? v.slice(7).trim() : false;
    }
    if (this.loginStyle === "body") return null;
    const raw = ctx.headers.cookie;
    const cookies = Array.isArray(raw) ? raw.join("; ") : raw ?? "";
    for (const part of cookies.split(";")) {
      const [k, ...v] = part.trim().split("=");
      if (k === "wf_session") return v.join("=");
    }
    return null;
  }

  /** null → 401; else the optional sliding-refresh Set-Cookie. */
  private authenticate(ctx: Ctx): { refresh: string | null } | null {
    const token = this.tokenOf(ctx);
    if (!token) return null;
    const claims = this.decodeToken(token);
    if (claims === null) return null;
    if (this.takeFault(ctx.method, ctx.path, ["expireSession"])) {
      this.minIat = Math.max(this.minIat, claims.iat + 1);
    }
    const now = this.nowSec();
    if (claims.iat < this.minIat || now >= claims.exp) return null;
    if (this.loginStyle === "cookie" && now - claims.iat > this.ttl / 2) {
      return { refresh: this.cookie(this.signToken(), this.ttl, ctx) };
    }
    return { refresh: null };
  }

  private takeLoginToken(peer: string): number | null {
    const now = this.clock();
    const refillMs = this.rate.refillSeconds * 1000;
    const b = this.buckets.get(peer) ?? { tokens: this.rate.burst, at: now };
    b.tokens = Math.min(this.rate.burst, b.tokens + (now - b.at) / refillMs);
    b.at = now;
    this.buckets.set(peer, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return null;
    }
    return Math.max(1, Math.ceil(((1 - b.tokens) * refillMs) / 1000));
  }

  private login(ctx: Ctx): Resp {
    const wait = this.takeLoginToken(ctx.peer);
    if (wait !== null) {
      const r = textResp(429, `Too Many Requests! Wait for ${wait}s`);
      r.headers["retry-after"] = String(wait);
      r.headers["x-ratelimit-after"] = String(wait);
      return r;
    }
    let password: string;
    try {
      password = De.of(this.extractJson(ctx), "LoginRequest").reqStr("password");
    } catch (e) {
      if (e instanceof Rejection) return textResp(e.status, e.message);
      throw e;
    }
    if (this.password === null) {
      return errorResp(404, "Authentication is not configured for this server");
    }
    if (password !== this.password) return errorResp(401, "Invalid password");
    const token = this.signToken();
    if (this.loginStyle === "body") {
      return jsonResp(200, { accessToken: token, tokenType: "Bearer", expiresIn: this.ttl });
    }
    const r = jsonResp(200, { authenticated: true, expiresIn: this.ttl });
    r.headers["set-cookie"] = this.cookie(token, this.ttl, ctx);
    return r;
  }

  private me(ctx: Ctx): Resp {
    if (this.password === null) return jsonResp(200, { authenticated: true });
    const token = this.tokenOf(ctx);
    const claims = token ? this.decodeToken(token) : null;
    if (claims === null || claims.iat < this.minIat || this.nowSec() >= claims.exp) {
      return errorResp(401, "Unauthorized");
    }
    return jsonResp(200, { authenticated: true });
  }

  // ----- routes

  private buildRoutes(): Route[] {
    const ID = "([^/]+)";
    const r = (
      method: string,
      path: string,
      handler: Route["handler"],
      extra: Partial<Route> = {},
    ): Route => ({ method, pattern: new RegExp(`^${path}$`), handler, ...extra });
    const notImpl = (ctx: Ctx) => errorResp(501, `Not implemented in the stand-in: ${ctx.path}`);
    return [
      r("GET", "/healthz", () => textResp(200, "ok"), { open: true }),
      r("GET", "/readyz", () => textResp(200, "ok"), { open: true }),
      r("GET", "/auth/status", () => jsonResp(200, { requiresPassword: this.password !== null }), {
        open: true,
      }),
      r("POST", "/auth/login", (ctx) => this.login(ctx), { open: true }),
      r("POST", "/auth/logout", (ctx) => {
        const resp = emptyResp(204);
        if (this.loginStyle === "cookie") resp.headers["set-cookie"] = this.cookie("", 0, ctx);
        return resp;
      }, { open: true }),
      r("GET", "/auth/me", (ctx) => this.me(ctx), { open: true }),
      r(
        "GET",
        "/app/info",
        () => jsonResp(200, { version: "3.2.1", dbPath: ":memory:", logsDir: "" }),
      ),
      r("GET", "/settings", () => jsonResp(200, { baseCurrency: BASE_CURRENCY })),
      r("GET", "/accounts", (ctx) => this.listAccounts(ctx)),
      r("POST", "/accounts", (_c, _p, b) => this.createAccount(b), { json: true }),
      r("PUT", `/accounts/${ID}`, (_c, p, b) => this.updateAccount(p[0], b), { json: true }),
      r("DELETE", `/accounts/${ID}`, (_c, p) => this.deleteAccount(p[0])),
      r("GET", "/assets", () => jsonResp(200, [...this.assets.values()])),
      r("POST", "/assets", (_c, _p, b) => this.createAsset(b), { json: true }),
      r("GET", "/assets/profile", (ctx) => this.assetProfile(ctx)),
      r("DELETE", `/assets/${ID}`, (_c, p) => this.deleteAsset(p[0])),
      r("POST", "/activities", (_c, _p, b) => this.createActivity(b), { json: true }),
      r("PUT", "/activities", (_c, _p, b) => this.updateActivity(b), { json: true }),
      r("POST", "/activities/bulk", (_c, _p, b) => this.bulk(b), { json: true }),
      r("POST", "/activities/search", (_c, _p, b) => this.search(b), { json: true }),
      r("POST", "/activities/import/check-duplicates", (_c, _p, b) => this.checkDuplicates(b), {
        json: true,
      }),
      r("POST", "/activities/import", notImpl),
      r("POST", "/activities/import/check", notImpl),
      r("POST", "/activities/import/parse", notImpl),
      r("POST", "/activities/import/assets/preview", notImpl),
      r("POST", "/activities/link", notImpl),
      r("POST", "/activities/unlink", notImpl),
      r("DELETE", `/activities/${ID}`, (_c, p) => this.deleteActivity(p[0])),
      r("GET", "/holdings", (ctx) => this.getHoldings(ctx)),
      r("GET", "/holdings/item", (ctx) => this.getHoldingItem(ctx)),
      r("POST", "/portfolio/update", (ctx) => this.portfolioJob(ctx)),
      r("POST", "/portfolio/recalculate", (ctx) => this.portfolioJob(ctx)),
      r("GET", "/events/stream", () => ({ status: 200, headers: {}, body: "", sse: true })),
    ];
  }

  // ----- accounts

  private listAccounts(ctx: Ctx): Resp {
    const all = ctx.query.get("includeArchived") === "true";
    return jsonResp(200, [...this.accounts.values()].filter((a) => all || !a.isArchived));
  }

  private createAccount(body: unknown): Resp {
    const d = De.of(body, "NewAccount");
    const input = {
      id: d.optStr("id"),
      name: d.reqStr("name"),
      accountType: d.reqStr("accountType"),
      group: d.optStr("group"),
      currency: d.reqStr("currency"),
      isDefault: d.reqBool("isDefault"),
      isActive: d.reqBool("isActive"),
      isArchived: d.optBool("isArchived"),
      trackingMode: d.optEnum("trackingMode", TRACKING_MODES),
      platformId: d.optStr("platformId"),
      accountNumber: d.optStr("accountNumber"),
      meta: d.optStr("meta"),
      provider: d.optStr("provider"),
      providerAccountId: d.optStr("providerAccountId"),
    };
    if (input.name.trim() === "") {
      throw new ApiError(400, "Input validation failed: Account name cannot be empty");
    }
    if (input.currency.trim() === "") {
      throw new ApiError(400, "Input validation failed: Currency cannot be empty");
    }
    if (input.id && this.accounts.has(input.id)) {
      throw new ApiError(409, "Constraint violation: UNIQUE constraint failed: accounts.id");
    }
    const acct = this.addAccount({
      id: input.id || undefined,
      name: input.name,
      accountType: input.accountType,
      group: input.group ?? null,
      currency: input.currency,
      isDefault: input.isDefault,
      isActive: input.isActive,
      isArchived: input.isArchived ?? false,
      trackingMode: input.trackingMode ?? "NOT_SET",
      platformId: input.platformId ?? null,
      accountNumber: input.accountNumber ?? null,
      meta: input.meta ?? null,
      provider: input.provider ?? null,
      providerAccountId: input.providerAccountId ?? null,
    });
    this.markWrite();
    return jsonResp(200, acct);
  }

  private updateAccount(id: string, body: unknown): Resp {
    const d = De.of(body, "AccountUpdate");
    const name = d.reqStr("name");
    const accountType = d.reqStr("accountType");
    const isDefault = d.reqBool("isDefault");
    const isActive = d.reqBool("isActive");
    const patch = {
      group: d.optStr("group"),
      isArchived: d.optBool("isArchived"),
      trackingMode: d.optEnum("trackingMode", TRACKING_MODES),
      platformId: d.optStr("platformId"),
      accountNumber: d.optStr("accountNumber"),
      meta: d.optStr("meta"),
      provider: d.optStr("provider"),
      providerAccountId: d.optStr("providerAccountId"),
    };
    const acct = this.accounts.get(id);
    if (!acct) throw new ApiError(400, NOT_FOUND);
    if (name.trim() === "") {
      throw new ApiError(400, "Input validation failed: Account name cannot be empty");
    }
    Object.assign(acct, { name, accountType, isDefault, isActive });
    if (patch.group !== undefined) acct.group = patch.group;
    if (patch.isArchived !== undefined && patch.isArchived !== null) {
      acct.isArchived = patch.isArchived;
    }
    if (patch.trackingMode) acct.trackingMode = patch.trackingMode;
    for (
      const k of ["platformId", "accountNumber", "meta", "provider", "providerAccountId"] as const
    ) {
      if (patch[k] !== undefined) acct[k] = patch[k];
    }
    acct.updatedAt = naiveTimestamp(this.clock());
    this.markWrite();
    return jsonResp(200, acct);
  }

  private deleteAccount(id: string): Resp {
    if (!this.accounts.has(id)) throw new ApiError(400, NOT_FOUND);
    this.accounts.delete(id);
    for (const a of [...this.activities.values()]) {
      if (a.accountId === id) this.removeActivity(a.id);
    }
    this.snapshots.delete(id);
    this.markWrite();
    return emptyResp(204);
  }

  // ----- assets

  private createAsset(body: unknown): Resp {
    const d = De.of(body, "NewAsset");
    const input = {
      id: d.optStr("id"),
      kind: d.reqEnum("kind", ASSET_KINDS),
      name: d.optStr("name"),
      displayCode: d.optStr("displayCode"),
      isActive: d.optBool("isActive"),
      quoteMode: d.reqEnum("quoteMode", ["MARKET", "MANUAL"] as const),
      quoteCcy: d.reqStr("quoteCcy"),
      instrumentType: d.optStr("instrumentType"),
      instrumentSymbol: d.optStr("instrumentSymbol"),
      instrumentExchangeMic: d.optStr("instrumentExchangeMic"),
      providerConfig: d.raw("providerConfig") ?? null,
      notes: d.optStr("notes"),
      metadata: d.raw("metadata") ?? null,
    };
    if (input.quoteCcy.trim() === "") {
      throw new ApiError(400, "Invalid input: Quote currency is required");
    }
    let symbol = blank(input.instrumentSymbol) ? null : input.instrumentSymbol!.trim();
    let mic = blank(input.instrumentExchangeMic)
      ? null
      : input.instrumentExchangeMic!.trim().toUpperCase();
    let type = normInstrumentType(input.instrumentType) ??
      (input.kind === "INVESTMENT" && symbol ? "EQUITY" : null);
    if (input.kind === "FX") type = "FX";
    if (input.kind === "INVESTMENT" && input.quoteMode === "MARKET" && symbol === null) {
      throw new ApiError(400, "Invalid input: instrumentSymbol is required for market assets");
    }
    if (symbol && type && type !== "CRYPTO" && type !== "FX" && type !== "OPTION") {
      const [s, sm] = splitSuffix(symbol);
      symbol = s;
      mic = mic ?? sm;
    }
    const quoteCcy = input.quoteCcy.trim();
    const key = symbol && type ? instrumentKey(type, symbol, mic, quoteCcy) : null;
    if (key) {
      const existing = this.findAssetByKey(key);
      if (existing) return jsonResp(200, existing);
    }
    if (input.id && this.assets.has(input.id)) {
      throw new ApiError(409, "Constraint violation: UNIQUE constraint failed: assets.id");
    }
    const now = naiveTimestamp(this.clock());
    const asset: Asset = {
      id: input.id || randomUUID(),
      kind: input.kind,
      name: input.name ?? null,
      displayCode: input.displayCode ?? symbol,
      notes: input.notes ?? null,
      metadata: input.metadata,
      isActive: input.isActive ?? true,
      quoteMode: input.quoteMode,
      quoteCcy,
      instrumentType: type,
      instrumentSymbol: symbol,
      instrumentExchangeMic: mic,
      instrumentKey: key,
      providerConfig: input.providerConfig,
      exchangeName: mic ? MIC_INFO[mic]?.[1] ?? null : null,
      createdAt: now,
      updatedAt: now,
    };
    this.assets.set(asset.id, asset);
    return jsonResp(200, asset);
  }

  private assetProfile(ctx: Ctx): Resp {
    const id = ctx.query.get("assetId");
    if (id === null) {
      return textResp(400, "Failed to deserialize query string: missing field `assetId`");
    }
    const a = this.assets.get(id);
    if (!a) throw new ApiError(400, NOT_FOUND);
    return jsonResp(200, a);
  }

  private deleteAsset(id: string): Resp {
    if (!this.assets.has(id)) throw new ApiError(400, NOT_FOUND);
    for (const a of this.activities.values()) {
      if (a.assetId === id) {
        throw new ApiError(409, "Constraint violation: FOREIGN KEY constraint failed");
      }
    }
    this.assets.delete(id);
    return emptyResp(204);
  }

  private findAssetByKey(key: string, staged?: Map<string, Asset>): Asset | null {
    for (const a of this.assets.values()) if (a.instrumentKey === key) return a;
    if (staged) { for (const a of staged.values()) if (a.instrumentKey === key) return a; }
    return null;
  }

  /** §4.4 step 2: resolve (or stage a minimal new) asset for an activity. */
  private resolveAsset(
    sym: SymbolInput,
    fallbackCcy: string,
    staged: Map<string, Asset>,
  ): Asset | null {
    const id = blank(sym.id) ? null : sym.id!.trim();
    const raw = blank(sym.symbol) ? null : sym.symbol!.trim();
    if (id) {
      const a = this.assets.get(id) ?? staged.get(id);
      if (a) return a;
      if (!raw) throw invalidData(`Asset not found: ${id}`);
    }
    if (!raw) return null;
    if (isGarbageSymbol(raw)) throw invalidData(`Invalid symbol: '${raw}'`);

    let symbol = raw;
    let mic = blank(sym.exchangeMic) ? null : sym.exchangeMic!.trim().toUpperCase();
    let quote = blank(sym.quoteCcy) ? null : sym.quoteCcy!.trim();
    const explicit = normInstrumentType(sym.instrumentType) ?? normInstrumentType(sym.kind);
    let type: string;
    const pair = cryptoPair(raw);
    if (explicit) type = explicit;
    else if (pair) type = "CRYPTO";
    else if (OCC_RE.test(raw)) type = "OPTION";
    else {
      const [, sm] = splitSuffix(raw);
      if (mic ?? sm) type = "EQUITY";
      else type = CRYPTO_TICKERS.has(raw.toUpperCase()) ? "CRYPTO" : "EQUITY";
    }
    if (type === "CRYPTO") {
      if (pair) {
        symbol = pair[0];
        quote = quote ?? pair[1];
      }
      mic = null;
    } else if (type === "FX") {
      const fx = fxPair(raw);
      if (fx) {
        symbol = fx[0];
        quote = quote ?? fx[1];
      }
      mic = null;
    } else if (type !== "OPTION") {
      const [s, sm] = splitSuffix(raw);
      symbol = s;
      mic = mic ?? sm;
    }
    const quoteMode = sym.quoteMode ?? "MARKET";
    const exempt = quoteMode === "MANUAL" || type === "CRYPTO" || type === "FX";
    const keyQuote = quote ?? fallbackCcy;
    const key = instrumentKey(type, symbol, mic, keyQuote);
    const existing = this.findAssetByKey(key, staged);
    if (existing) return existing;
    if (quote === null) {
      if (exempt) quote = fallbackCcy;
      else if (mic && MIC_INFO[mic]) quote = MIC_INFO[mic][0];
      else throw invalidData("Quote currency is required. Please re-select the symbol.");
    }
    const now = naiveTimestamp(this.clock());
    const asset: Asset = {
      id: randomUUID(),
      kind: type === "FX" ? "FX" : "INVESTMENT",
      name: blank(sym.name) ? null : sym.name!,
      displayCode: symbol,
      notes: null,
      metadata: null,
      isActive: true,
      quoteMode,
      quoteCcy: quote,
      instrumentType: type,
      instrumentSymbol: symbol,
      instrumentExchangeMic: mic,
      instrumentKey: instrumentKey(type, symbol, mic, quote),
      providerConfig: null,
      exchangeName: mic ? MIC_INFO[mic]?.[1] ?? null : null,
      createdAt: now,
      updatedAt: now,
    };
    staged.set(asset.id, asset);
    return asset;
  }

  // ----- activities

  private contentKey(a: Activity): string {
    const date = a.activityDate.slice(0, 10);
    const notes = a.notes === null ? "" : a.notes.split(/\s+/).filter(Boolean).join(" ");
    return sha256Hex(
      [
        a.accountId,
        a.activityType,
        date,
        a.assetId ?? "",
        normDecimal(a.quantity),
        normDecimal(a.unitPrice),
        normDecimal(a.amount),
        a.currency,
        a.sourceRecordId ?? "",
        notes,
      ].join("|"),
    );
  }

  /**
   * §4.4 processing for a create (`base` null) or an update (`base` = the stored activity).
   * Throws ApiError for preparation errors.
   */
  private prepare(
    input: ActivityInput,
    base: Activity | null,
    fallbackAccount: Account,
    staged: Map<string, Asset>,
  ): Activity {
    const when = parseActivityDate(input.activityDate);
    if (when === null) throw invalidData(`Invalid activity date: '${input.activityDate}'`);
    let metadata: unknown = base?.metadata ?? null;
    if (input.metadata !== undefined) {
      if (blank(input.metadata)) metadata = null;
      else {
        try {
          metadata = JSON.parse(input.metadata!);
        } catch {
          throw invalidData("metadata is not valid JSON");
        }
      }
    }
    const givenCcy = input.currency.trim();
    let asset: Asset | null = base?.assetId ? this.assets.get(base.assetId) ?? null : null;
    if (input.symbol !== undefined) {
      asset = input.symbol === null
        ? null
        : this.resolveAsset(input.symbol, givenCcy || fallbackAccount.currency, staged);
    }
    if (NEEDS_ASSET.has(input.activityType) && asset === null) {
      throw invalidData(`Symbol or asset id is required for ${input.activityType} activities`);
    }
    let currency = givenCcy || asset?.quoteCcy || fallbackAccount.currency || BASE_CURRENCY;
    const minor = isMinorGbp(currency);
    if (minor) currency = "GBP";
    const val = (v: string | null | undefined, old: string | null, scaled: boolean) => {
      if (v === undefined) return base ? old : null;
      if (v === null) return null;
      const a = absKeepScale(v);
      return scaled && minor ? new Decimal(a).div(100).toFixed() : a;
    };
    const quantity = val(input.quantity, base?.quantity ?? null, false);
    const unitPrice = val(input.unitPrice, base?.unitPrice ?? null, true);
    let amount = val(input.amount, base?.amount ?? null, true);
    const fee = val(input.fee, base?.fee ?? null, true);
    const fxRate = input.fxRate === undefined
      ? base?.fxRate ?? null
      : input.fxRate === null
      ? null
      : absKeepScale(input.fxRate);
    const isTransfer = input.activityType === "TRANSFER_IN" ||
      input.activityType === "TRANSFER_OUT";
    if (isTransfer && asset !== null && unitPrice !== null) amount = null;
    const keep = <T>(v: T | undefined, old: T, dflt: T): T =>
      v === undefined ? (base ? old : dflt) : v;
    const now = naiveTimestamp(this.clock());
    return {
      id: base?.id ?? randomUUID(),
      accountId: input.accountId,
      assetId: asset?.id ?? null,
      activityType: input.activityType,
      activityTypeOverride: base?.activityTypeOverride ?? null,
      sourceType: base?.sourceType ?? null,
      subtype: keep(input.subtype, base?.subtype ?? null, null),
      status: keep(input.status ?? undefined, base?.status ?? "POSTED", "POSTED"),
      activityDate: rfc3339(when),
      settlementDate: base?.settlementDate ?? null,
      quantity,
      unitPrice,
      amount,
      fee,
      currency,
      fxRate,
      notes: keep(input.notes, base?.notes ?? null, null),
      metadata,
      sourceSystem: base ? base.sourceSystem : input.sourceSystem ?? "MANUAL",
      sourceRecordId: base ? base.sourceRecordId : input.sourceRecordId ?? null,
      sourceGroupId: keep(input.sourceGroupId, base?.sourceGroupId ?? null, null),
      idempotencyKey: base ? base.idempotencyKey : null,
      importRunId: base?.importRunId ?? null,
      isUserModified: base?.isUserModified ?? false,
      needsReview: keep(input.needsReview ?? undefined, base?.needsReview ?? false, false),
      createdAt: base?.createdAt ?? now,
      updatedAt: now,
    };
  }

  private prepareCreate(
    input: ActivityInput,
    fallbackAccount: Account,
    staged: Map<string, Asset>,
  ): Activity {
    const a = this.prepare(input, null, fallbackAccount, staged);
    a.idempotencyKey = blank(input.idempotencyKey) ? this.contentKey(a) : input.idempotencyKey!;
    return a;
  }

  private insertActivity(a: Activity): void {
    this.activities.set(a.id, a);
    this.seqOf.set(a.id, ++this.seq);
    if (a.idempotencyKey !== null) this.keyIndex.set(a.idempotencyKey, a.id);
  }

  private removeActivity(id: string): void {
    const a = this.activities.get(id);
    if (!a) return;
    this.activities.delete(id);
    this.seqOf.delete(id);
    if (a.idempotencyKey !== null && this.keyIndex.get(a.idempotencyKey) === id) {
      this.keyIndex.delete(a.idempotencyKey);
    }
  }

  private commitAssets(staged: Map<string, Asset>): void {
    for (const a of staged.values()) this.assets.set(a.id, a);
  }

  private createActivity(body: unknown): Resp {
    const input = readActivityInput(De.of(body, "NewActivity"), false);
    const account = this.accounts.get(input.accountId);
    if (!account) throw new ApiError(400, NOT_FOUND);
    const staged = new Map<string, Asset>();
    const a = this.prepareCreate(input, account, staged);
    const dup = this.keyIndex.get(a.idempotencyKey!);
    if (dup !== undefined) throw duplicateError(dup);
    this.commitAssets(staged);
    this.insertActivity(a);
    this.markWrite();
    return jsonResp(200, this.activityJson(a));
  }

  private updateActivity(body: unknown): Resp {
    const input = readActivityInput(De.of(body, "ActivityUpdate"), true);
    const existing = this.activities.get(input.tempId!);
    const account = this.accounts.get(input.accountId);
    if (!existing || !account) throw new ApiError(400, NOT_FOUND);
    const staged = new Map<string, Asset>();
    const a = this.prepare(input, existing, account, staged);
    this.commitAssets(staged);
    this.activities.set(a.id, a);
    this.markWrite();
    return jsonResp(200, this.activityJson(a));
  }

  private deleteActivity(id: string): Resp {
    const a = this.activities.get(id);
    if (!a) throw new ApiError(400, NOT_FOUND);
    this.removeActivity(id);
    this.markWrite();
    return jsonResp(200, this.activityJson(a));
  }

  private bulk(body: unknown): Resp {
    const d = De.of(body, "ActivityBulkMutationRequest");
    const creates = d.optVec("creates").map((v, i) =>
      readActivityInput(De.of(v, "NewActivity", `creates[${i}]`), false)
    );
    const updates = d.optVec("updates").map((v, i) =>
      readActivityInput(De.of(v, "ActivityUpdate", `updates[${i}]`), true)
    );
    const deleteIds = d.has("deleteIds") ? d.reqStrVec("deleteIds") : [];

    let fallbackAccount: Account | undefined;
    if (creates.length > 0) {
      fallbackAccount = this.accounts.get(creates[0].accountId);
      if (!fallbackAccount) throw new ApiError(400, NOT_FOUND);
    }
    const errors: { id: string | null; action: string; message: string }[] = [];
    const staged = new Map<string, Asset>();
    const created: [ActivityInput, Activity][] = [];
    const updated: Activity[] = [];
    for (const input of creates) {
      try {
        created.push([input, this.prepareCreate(input, fallbackAccount!, staged)]);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        errors.push({ id: input.tempId, action: "create", message: e.message });
      }
    }
    for (const input of updates) {
      try {
        const existing = this.activities.get(input.tempId!);
        const account = this.accounts.get(input.accountId);
        if (!existing || !account) throw new ApiError(400, NOT_FOUND);
        updated.push(this.prepare(input, existing, account, staged));
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        errors.push({ id: input.tempId, action: "update", message: e.message });
      }
    }
    for (const id of deleteIds) {
      if (!this.activities.has(id)) errors.push({ id, action: "delete", message: NOT_FOUND });
    }
    if (errors.length > 0) {
      return jsonResp(200, { created: [], updated: [], deleted: [], createdMappings: [], errors });
    }

    // The transaction: deletes, updates, creates; any failure rolls everything back.
    const deletedSet = new Set(deleteIds);
    for (const u of updated) if (deletedSet.has(u.id)) throw new ApiError(400, NOT_FOUND);
    const keys = new Map<string, string>();
    for (const [k, id] of this.keyIndex) if (!deletedSet.has(id)) keys.set(k, id);
    for (const [, a] of created) {
      if (!this.accounts.has(a.accountId)) {
        throw new ApiError(409, "Constraint violation: FOREIGN KEY constraint failed");
      }
      const dup = keys.get(a.idempotencyKey!);
      if (dup !== undefined) throw duplicateError(dup);
      keys.set(a.idempotencyKey!, a.id);
    }
    const deleted = deleteIds.map((id) => this.activities.get(id)!);
    for (const id of deleteIds) this.removeActivity(id);
    for (const u of updated) this.activities.set(u.id, u);
    this.commitAssets(staged);
    for (const [, a] of created) this.insertActivity(a);
    if (deleted.length + updated.length + created.length > 0) this.markWrite();
    return jsonResp(200, {
      created: created.map(([, a]) => this.activityJson(a)),
      updated: updated.map((a) => this.activityJson(a)),
      deleted: deleted.map((a) => this.activityJson(a)),
      createdMappings: created.map(([i, a]) => ({ tempId: i.tempId, activityId: a.id })),
      errors: [],
    });
  }

  private checkDuplicates(body: unknown): Resp {
    const keys = De.of(body, "CheckDuplicatesRequest").reqStrVec("idempotencyKeys");
    const duplicates: Record<string, string> = {};
    for (const k of keys) {
      const id = this.keyIndex.get(k);
      if (id !== undefined) duplicates[k] = id;
    }
    return jsonResp(200, { duplicates });
  }

  private activityJson(a: Activity): Record<string, unknown> {
    const out: Record<string, unknown> = { ...a };
    if (a.settlementDate === null) delete out.settlementDate;
    if (a.metadata === null) delete out.metadata;
    return out;
  }

  private details(a: Activity): Record<string, unknown> {
    const acct = this.accounts.get(a.accountId)!;
    const asset = a.assetId ? this.assets.get(a.assetId) ?? null : null;
    const amount = a.amount ??
      (a.quantity !== null && a.unitPrice !== null ? mulKeepScale(a.quantity, a.unitPrice) : null);
    return {
      id: a.id,
      accountId: a.accountId,
      assetId: a.assetId ?? "",
      activityType: a.activityType,
      subtype: a.subtype,
      status: a.status,
      date: a.activityDate,
      quantity: a.quantity,
      unitPrice: a.unitPrice,
      currency: a.currency,
      fee: a.fee,
      amount,
      needsReview: a.needsReview,
      comment: a.notes,
      fxRate: a.fxRate,
      createdAt: a.createdAt,
      updatedAt: a.updatedAt,
      accountName: acct.name,
      accountCurrency: acct.currency,
      assetSymbol: asset?.displayCode ?? null,
      assetName: asset?.name ?? null,
      exchangeMic: asset?.instrumentExchangeMic ?? null,
      assetPricingMode: asset?.quoteMode ?? null,
      instrumentType: asset?.instrumentType ?? null,
      sourceSystem: a.sourceSystem,
      sourceRecordId: a.sourceRecordId,
      sourceGroupId: a.sourceGroupId,
      idempotencyKey: a.idempotencyKey,
      importRunId: a.importRunId,
      isUserModified: a.isUserModified,
      metadata: a.metadata,
    };
  }

  private search(body: unknown): Resp {
    const d = De.of(body, "ActivitySearchRequest");
    const page = d.reqI64("page");
    const pageSize = d.reqI64("pageSize");
    const accountIds = d.optStrOrVec("accountIdFilter");
    const types = d.optStrOrVec("activityTypeFilter");
    const instrumentTypes = d.optStrOrVec("instrumentTypeFilter");
    const kw = d.optStr("assetIdKeyword");
    const needsReview = d.optBool("needsReviewFilter");
    const dateFrom = d.optStr("dateFrom");
    const dateTo = d.optStr("dateTo");
    let sortId = "date";
    let desc = true;
    if (d.has("sort") && d.raw("sort") !== null) {
      const raw = d.raw("sort");
      const first = Array.isArray(raw) ? raw[0] : raw;
      if (first !== undefined) {
        const sd = De.of(first, "Sort", Array.isArray(raw) ? "sort[0]" : "sort");
        sortId = sd.reqStr("id");
        desc = sd.reqBool("desc");
      }
    }
    const rows = [...this.activities.values()].filter((a) => {
      const acct = this.accounts.get(a.accountId);
      if (!acct || acct.isArchived) return false;
      if (accountIds && accountIds.length > 0 && !accountIds.includes(a.accountId)) return false;
      if (types && types.length > 0 && !types.includes(a.activityType)) return false;
      const asset = a.assetId ? this.assets.get(a.assetId) ?? null : null;
      if (instrumentTypes && instrumentTypes.length > 0) {
        if (!asset?.instrumentType || !instrumentTypes.includes(asset.instrumentType)) return false;
      }
      if (kw && kw !== "") {
        const hit = matchesLike(a.assetId, kw) || matchesLike(asset?.name ?? null, kw) ||
          matchesLike(asset?.displayCode ?? null, kw) || matchesLike(a.notes, kw);
        if (!hit) return false;
      }
      if (needsReview === true && a.status !== "DRAFT") return false;
      const day = a.activityDate.slice(0, 10);
      if (dateFrom && day < dateFrom) return false;
      if (dateTo && day > dateTo) return false;
      return true;
    });
    const sortVal = (a: Activity): string | number | null => {
      switch (sortId) {
        case "activityType":
          return a.activityType;
        case "assetSymbol":
          return a.assetId ? this.assets.get(a.assetId)?.displayCode ?? null : null;
        case "accountName":
          return this.accounts.get(a.accountId)?.name ?? null;
        default:
          return Date.parse(a.activityDate);
      }
    };
    rows.sort((x, y) => {
      const a = sortVal(x);
      const b = sortVal(y);
      let c = 0;
      if (a === null && b !== null) c = -1;
      else if (a !== null && b === null) c = 1;
      else if (a !== null && b !== null) c = a < b ? -1 : a > b ? 1 : 0;
      if (desc) c = -c;
      return c !== 0 ? c : this.seqOf.get(x.id)! - this.seqOf.get(y.id)!;
    });
    const offset = Math.max(0, page) * Math.max(0, pageSize);
    const slice = pageSize < 0 ? rows.slice(offset) : rows.slice(offset, offset + pageSize);
    return jsonResp(200, {
      data: slice.map((a) => this.details(a)),
      meta: { totalRowCount: rows.length },
    });
  }

  // ----- recalculation and holdings

  private markWrite(): void {
    this.lastWriteAt = this.clock();
    this.scheduleRecalc(this.lag);
  }

  private scheduleRecalc(ms: number): void {
    if (this.abort.signal.aborted) return;
    if (this.recalcTimer !== null) clearTimeout(this.recalcTimer);
    this.recalcTimer = setTimeout(() => {
      this.recalcTimer = null;
      if (this.lastWriteAt === null) return;
      const left = this.lastWriteAt + this.lag - this.clock();
      if (left <= 0) this.applyDueRecalc();
      else this.scheduleRecalc(Math.max(10, Math.min(left, this.lag)));
    }, ms);
  }

  private applyDueRecalc(): void {
    if (this.lastWriteAt !== null && this.clock() - this.lastWriteAt >= this.lag) {
      this.lastWriteAt = null;
      this.recalculate(null);
    }
  }

  private broadcast(event: string, data: unknown): void {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const c of this.sseClients) c.write(frame);
  }

  private recalculate(accountIds: string[] | null): void {
    this.broadcast("portfolio:update-start", null);
    const asOf = new Date(this.clock()).toISOString().slice(0, 10);
    for (const acct of this.accounts.values()) {
      if (accountIds && !accountIds.includes(acct.id)) continue;
      if (acct.trackingMode === "HOLDINGS") continue;
      this.snapshots.set(acct.id, this.computeHoldings(acct, asOf));
    }
    this.recalcCount++;
    this.broadcast("portfolio:update-complete", null);
  }

  private portfolioJob(ctx: Ctx): Resp {
    let ids: string[] | null = null;
    if (ctx.body.length > 0) {
      try {
        const d = De.of(this.extractJson(ctx), "PortfolioUpdateRequest");
        if (d.has("accountIds") && d.raw("accountIds") !== null) ids = d.reqStrVec("accountIds");
      } catch (e) {
        if (e instanceof Rejection) return textResp(e.status, e.message);
        throw e;
      }
    }
    if (ids === null) this.lastWriteAt = null;
    this.recalculate(ids);
    return emptyResp(202);
  }

  private computeHoldings(acct: Account, asOf: string): Holding[] {
    const acts = [...this.activities.values()]
      .filter((a) => a.accountId === acct.id && a.status === "POSTED")
      .sort((x, y) =>
        Date.parse(x.activityDate) - Date.parse(y.activityDate) ||
        this.seqOf.get(x.id)! - this.seqOf.get(y.id)!
      );
    const cash = new Map<string, Decimal>();
    const pos = new Map<string, Position>();
    const ZERO = new Decimal(0);
    const addCash = (ccy: string, d: Decimal) => cash.set(ccy, (cash.get(ccy) ?? ZERO).plus(d));
    const position = (assetId: string): Position => {
      let p = pos.get(assetId);
      if (!p) {
        p = { assetId, qty: ZERO, cost: ZERO, lastPrice: null, openDate: null };
        pos.set(assetId, p);
      }
      return p;
    };
    for (const a of acts) {
      const q = dec(a.quantity) ?? ZERO;
      const p = dec(a.unitPrice);
      const fee = dec(a.fee) ?? ZERO;
      const qp = p !== null && a.quantity !== null ? q.times(p) : null;
      const amount = dec(a.amount) ?? qp ?? ZERO;
      const day = a.activityDate.slice(0, 10);
      const ccy = a.currency;
      const acquire = (ps: Position, qty: Decimal, cost: Decimal) => {
        if (ps.qty.isZero()) ps.openDate = day;
        ps.qty = ps.qty.plus(qty);
        ps.cost = ps.cost.plus(cost);
      };
      const dispose = (ps: Position, qty: Decimal) => {
        if (ps.qty.gt(0)) {
          ps.cost = ps.cost.minus(ps.cost.times(Decimal.min(qty, ps.qty)).div(ps.qty));
        }
        ps.qty = ps.qty.minus(qty);
        if (ps.qty.isZero()) ps.cost = ZERO;
      };
      switch (a.activityType) {
        case "BUY": {
          const gross = qp ?? amount;
          addCash(ccy, gross.plus(fee).neg());
          if (a.assetId) {
            const ps = position(a.assetId);
            acquire(ps, q, gross.plus(fee));
            if (p !== null) ps.lastPrice = p;
          }
          break;
        }
        case "SELL": {
          addCash(ccy, (qp ?? amount).minus(fee));
          if (a.assetId) {
            const ps = position(a.assetId);
            dispose(ps, q);
            if (p !== null) ps.lastPrice = p;
          }
          break;
        }
        case "DIVIDEND":
        case "INTEREST":
        case "DEPOSIT":
        case "CREDIT":
          addCash(ccy, amount.minus(fee));
          break;
        case "WITHDRAWAL":
        case "TAX":
          addCash(ccy, amount.plus(fee).neg());
          break;
        case "FEE":
          addCash(ccy, (amount.gt(0) ? amount : fee).neg());
          break;
        case "TRANSFER_IN":
        case "TRANSFER_OUT": {
          const sign = a.activityType === "TRANSFER_IN" ? 1 : -1;
          if (a.assetId) {
            const ps = position(a.assetId);
            if (sign > 0) acquire(ps, q, p !== null ? q.times(p) : ZERO);
            else dispose(ps, q);
            if (p !== null) ps.lastPrice = p;
            if (!fee.isZero()) addCash(ccy, fee.neg());
          } else {
            addCash(ccy, sign > 0 ? amount.minus(fee) : amount.plus(fee).neg());
          }
          break;
        }
        case "SPLIT": {
          const ratio = dec(a.amount);
          if (a.assetId && ratio !== null && !ratio.isZero()) {
            const ps = position(a.assetId);
            ps.qty = ps.qty.times(ratio);
            if (ps.lastPrice !== null) ps.lastPrice = ps.lastPrice.div(ratio);
          }
          break;
        }
        default:
          break;
      }
    }
    const securities: Holding[] = [];
    for (const ps of pos.values()) {
      if (ps.qty.isZero()) continue;
      const asset = this.assets.get(ps.assetId);
      if (!asset) continue;
      const localCcy = isMinorGbp(asset.quoteCcy) ? "GBP" : asset.quoteCcy;
      const price = ps.lastPrice ?? ZERO;
      const mv = num(ps.qty.times(price));
      const cb = num(ps.cost);
      securities.push({
        id: `SEC-${acct.id}-${asset.id}`,
        accountId: acct.id,
        holdingType: "security",
        instrument: {
          id: asset.id,
          symbol: asset.displayCode ?? asset.instrumentSymbol ?? "",
          name: asset.name,
          currency: localCcy,
          notes: asset.notes,
          pricingMode: asset.quoteMode,
          preferredProvider: null,
          exchangeMic: asset.instrumentExchangeMic,
          classifications: null,
        },
        assetKind: asset.kind,
        quantity: num(ps.qty),
        openDate: ps.openDate,
        lots: null,
        contractMultiplier: 1,
        localCurrency: localCcy,
        baseCurrency: acct.currency,
        fxRate: 1,
        marketValue: { local: mv, base: mv },
        costBasis: { local: cb, base: cb },
        price: num(price),
        purchasePrice: ps.qty.isZero() ? null : num(ps.cost.div(ps.qty)),
        unrealizedGain: { local: mv - cb, base: mv - cb },
        unrealizedGainPct: cb === 0 ? null : (mv - cb) / cb,
        realizedGain: null,
        realizedGainPct: null,
        totalGain: { local: mv - cb, base: mv - cb },
        totalGainPct: cb === 0 ? null : (mv - cb) / cb,
        dayChange: null,
        dayChangePct: null,
        prevCloseValue: null,
        weight: 0,
        asOfDate: asOf,
        metadata: null,
      });
    }
    securities.sort((x, y) => x.instrument.symbol.localeCompare(y.instrument.symbol));
    const cashHoldings: Holding[] = [...cash.entries()]
      .filter(([, v]) => !v.isZero())
      .sort(([x], [y]) => x.localeCompare(y))
      .map(([ccy, v]) => {
        const n = num(v);
        return {
          id: `CASH-${acct.id}-${ccy}`,
          accountId: acct.id,
          holdingType: "cash" as const,
          instrument: {
            id: `cash:${ccy}`,
            symbol: ccy,
            name: `Cash (${ccy})`,
            currency: ccy,
            notes: null,
            pricingMode: null,
            preferredProvider: null,
            exchangeMic: null,
            classifications: null,
          },
          assetKind: null,
          quantity: n,
          openDate: null,
          lots: null,
          contractMultiplier: 1,
          localCurrency: ccy,
          baseCurrency: acct.currency,
          fxRate: 1,
          marketValue: { local: n, base: n },
          costBasis: { local: n, base: n },
          price: 1,
          purchasePrice: 1,
          unrealizedGain: null,
          unrealizedGainPct: null,
          realizedGain: null,
          realizedGainPct: null,
          totalGain: null,
          totalGainPct: null,
          dayChange: null,
          dayChangePct: null,
          prevCloseValue: null,
          weight: 0,
          asOfDate: asOf,
          metadata: null,
        };
      });
    const all = [...securities, ...cashHoldings];
    const total = all.reduce((s, h) => s + h.marketValue.local, 0);
    for (const h of all) h.weight = total === 0 ? 0 : h.marketValue.local / total;
    return all;
  }

  private holdingsFor(accountId: string): Holding[] {
    if (accountId !== "TOTAL") return this.snapshots.get(accountId) ?? [];
    const bySec = new Map<string, Holding>();
    const byCash = new Map<string, Holding>();
    for (const acct of this.accounts.values()) {
      if (acct.isArchived) continue;
      for (const h of this.snapshots.get(acct.id) ?? []) {
        const map = h.holdingType === "cash" ? byCash : bySec;
        const k = h.instrument.id;
        const prev = map.get(k);
        if (!prev) {
          map.set(k, {
            ...structuredClone(h),
            id: h.holdingType === "cash" ? `CASH-TOTAL-${h.localCurrency}` : `SEC-TOTAL-${k}`,
            accountId: "TOTAL",
          });
        } else {
          prev.quantity = num(new Decimal(prev.quantity).plus(h.quantity));
          for (const f of ["marketValue", "costBasis"] as const) {
            prev[f] = {
              local: prev[f].local + h[f].local,
              base: prev[f].base + h[f].base,
            };
          }
        }
      }
    }
    return [...bySec.values(), ...byCash.values()].filter((h) => h.quantity !== 0);
  }

  private getHoldings(ctx: Ctx): Resp {
    const id = ctx.query.get("accountId");
    if (id === null) {
      return textResp(400, "Failed to deserialize query string: missing field `accountId`");
    }
    this.applyDueRecalc();
    return jsonResp(200, this.holdingsFor(id));
  }

  private getHoldingItem(ctx: Ctx): Resp {
    const accountId = ctx.query.get("accountId");
    const assetId = ctx.query.get("assetId");
    if (accountId === null || assetId === null) {
      const f = accountId === null ? "accountId" : "assetId";
      return textResp(400, `Failed to deserialize query string: missing field \`${f}\``);
    }
    this.applyDueRecalc();
    const h = this.holdingsFor(accountId).find((x) => x.instrument.id === assetId) ?? null;
    return jsonResp(200, h);
  }
}

/** Starts the stand-in on 127.0.0.1 with an ephemeral port. */
export async function startWealthfolioStandIn(
  options: WealthfolioStandInOptions = {},
): Promise<WealthfolioStandIn> {
  const s = new StandIn(options);
  await s.listen();
  return s;
}
