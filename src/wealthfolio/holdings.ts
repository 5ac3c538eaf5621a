/**
 * Wealthfolio's holdings of one account (`GET /api/v1/holdings?accountId=`, contract §4.9), read
 * as exact decimals. The Wealthfolio client reads them with its session; `AccountHoldings` puts a
 * check of the account in front, because Wealthfolio answers an unknown account with no holdings
 * rather than an error, which would read as "everything drifted".
 */
import { Decimal } from "decimal.js";
import { targetAccount } from "./accounts.ts";
import type { WfAccount } from "./client.ts";
import { WealthfolioProtocolError } from "./errors.ts";

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

type Json = null | boolean | string | Decimal | Json[] | { [key: string]: Json };

/**
 * Parses a holdings response; `call` names the request in errors (`GET /holdings?accountId=…`).
 * Wealthfolio writes quantities as JSON numbers (rust_decimal with serde-float); each is read
 * from its source text, so `0.1` is exactly 0.1, never a float. Anything else is a
 * WealthfolioProtocolError: an answer outside the contract.
 *
 * @example parseHoldings('[{"id":"CASH-a-GBP","holdingType":"cash","instrument":{"id":"cash:GBP","symbol":"GBP"},"localCurrency":"GBP","quantity":694.7575}]', "x")[0].quantity.toFixed() // → "694.7575"
 */
export function parseHoldings(text: string, call: string): Holding[] {
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
    throw new WealthfolioProtocolError(
      call,
      200,
      `holdings response is not JSON (${(e as Error).message})`,
    );
  }
  if (!Array.isArray(body)) {
    throw new WealthfolioProtocolError(call, 200, "holdings response is not a list");
  }
  return body.map((item, i) => {
    const fail = (what: string) =>
      new WealthfolioProtocolError(call, 200, `holdings item ${i} ${what}`);
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

/** What AccountHoldings needs of the Wealthfolio client. */
export interface HoldingsReader extends HoldingsSource {
  readonly baseUrl: string;
  accounts(): Promise<WfAccount[]>;
}

/**
 * Holdings of accounts checked first: the account must exist, be active and take activities
 * (the accounts are listed once per run). `namedBy` says where an account id came from, for the
 * message when it is wrong (`IBKR_ACCOUNTS (for IBKR account U1234567)`).
 */
export class AccountHoldings implements HoldingsSource {
  readonly #reader: HoldingsReader;
  readonly #namedBy: (wealthfolioAccountId: string) => string;
  readonly #checked = new Set<string>();
  #accounts: Promise<WfAccount[]> | null = null;

  constructor(reader: HoldingsReader, namedBy: (wealthfolioAccountId: string) => string) {
    this.#reader = reader;
    this.#namedBy = namedBy;
  }

  async holdings(wealthfolioAccountId: string): Promise<readonly Holding[]> {
    if (!this.#checked.has(wealthfolioAccountId)) {
      this.#accounts ??= this.#reader.accounts();
      targetAccount(
        await this.#accounts,
        wealthfolioAccountId,
        this.#namedBy(wealthfolioAccountId),
        this.#reader.baseUrl,
      );
      this.#checked.add(wealthfolioAccountId);
    }
    return await this.#reader.holdings(wealthfolioAccountId);
  }
}
