/**
 * Wealthfolio's holdings of one account (`GET /api/v1/holdings?accountId=`, contract §4.9), read
 * as exact decimals, and the smallest reader of them: the Wealthfolio client implements
 * `HoldingsSource` with its own session, this reader only adds a bearer it is handed.
 */
import { Decimal } from "decimal.js";

/** One item of the holdings list, reduced to what reconciliation compares. */
export interface Holding {
  /** `SEC-<account>-<assetId>` or `CASH-<account>-<CCY>`. */
  readonly id: string;
  /** `security`, `cash`, or a kind reconciliation does not compare (`alternativeAsset`). */
  readonly holdingType: string;
  /** The asset's UUID, or `cash:GBP`. */
  readonly instrumentId: string | null;
  /** The display code (`VUAG`), or the currency of a cash item. */
  readonly symbol: string | null;
  readonly exchangeMic: string | null;
  /** `localCurrency`: the currency of a cash item. */
  readonly currency: string | null;
  /** Shares of a security, or the balance of a cash item. */
  readonly quantity: Decimal;
}

/** Where reconciliation reads Wealthfolio's holdings from. */
export interface HoldingsSource {
  /** The holdings of one Wealthfolio account, as the server computes them right now. */
  holdings(wealthfolioAccountId: string): Promise<readonly Holding[]>;
}

/** Wealthfolio answered something other than a holdings list. */
export class HoldingsReadError extends Error {
  constructor(readonly where: string, readonly status: number | null, detail: string) {
    super(`${where}: ${detail}`);
    this.name = "HoldingsReadError";
  }
}

type Json = null | boolean | string | Decimal | Json[] | { [key: string]: Json };

/**
 * Parses a holdings response. Wealthfolio writes quantities as JSON numbers (rust_decimal with
 * serde-float); each is read from its source text, so `0.1` is exactly 0.1, never a float.
 *
 * @example parseHoldings('[{"id":"CASH-a-GBP","holdingType":"cash","instrument":{"id":"cash:GBP","symbol":"GBP"},"localCurrency":"GBP","quantity":694.7575}]', "x")[0].quantity.toFixed() // → "694.7575"
 */
export function parseHoldings(text: string, where: string): Holding[] {
  let body: Json;
  try {
    body = JSON.parse(
      text,
      // The third argument (the value's source text) is ES2026 "JSON.parse source text access".
      ((_key: string, value: unknown, context?: { source?: string }) =>
        typeof value === "number" ? new Decimal(context?.source ?? String(value)) : value) as (
          key: string,
          value: unknown,
        ) => unknown,
    );
  } catch (e) {
    throw new HoldingsReadError(
      where,
      null,
      `holdings response is not JSON (${(e as Error).message})`,
    );
  }
  if (!Array.isArray(body)) {
    throw new HoldingsReadError(where, null, "holdings response is not a list");
  }
  return body.map((item, i) => {
    const fail = (what: string) => new HoldingsReadError(where, null, `holdings item ${i} ${what}`);
    if (!isObject(item)) throw fail("is not an object");
    const instrument = isObject(item.instrument) ? item.instrument : {};
    if (!(item.quantity instanceof Decimal)) throw fail("has no numeric quantity");
    if (typeof item.holdingType !== "string") throw fail("has no holdingType");
    return {
      id: typeof item.id === "string" ? item.id : `#${i}`,
      holdingType: item.holdingType,
      instrumentId: text_(instrument.id),
      symbol: text_(instrument.symbol),
      exchangeMic: text_(instrument.exchangeMic),
      currency: text_(item.localCurrency) ?? text_(instrument.currency),
      quantity: item.quantity,
    };
  });
}

function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Decimal);
}

function text_(value: Json | undefined): string | null {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : null;
}

/**
 * Reads holdings over HTTP. `bearer` supplies the session token when the server wants one (the
 * Wealthfolio client owns login); the token is never part of an error message.
 */
export class HttpHoldingsSource implements HoldingsSource {
  readonly #baseUrl: string;
  readonly #bearer: () => Promise<string | null>;
  readonly #timeoutMs: number;

  constructor(options: {
    baseUrl: string;
    bearer?: () => Promise<string | null>;
    timeoutMs?: number;
  }) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#bearer = options.bearer ?? (() => Promise.resolve(null));
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  async holdings(wealthfolioAccountId: string): Promise<readonly Holding[]> {
    const path = `/api/v1/holdings?accountId=${encodeURIComponent(wealthfolioAccountId)}`;
    const where = `Wealthfolio GET ${path}`;
    const token = await this.#bearer();
    let response: Response;
    try {
      response = await fetch(`${this.#baseUrl}${path}`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (e) {
      throw new HoldingsReadError(where, null, `unreachable: ${(e as Error).message}`);
    }
    const text = await response.text();
    if (!response.ok) {
      throw new HoldingsReadError(
        where,
        response.status,
        `HTTP ${response.status} ${text.slice(0, 200).replaceAll(/\s+/g, " ")}`.trim(),
      );
    }
    return parseHoldings(text, where);
  }
}
