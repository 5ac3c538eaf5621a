/**
 * What IBKR says an account holds: the latest journaled statement of the account, read back from
 * its stored bytes (the same streaming reader as everywhere), reduced to OpenPositions SUMMARY
 * positions and CashReport ending cash per currency, plus the other listings our own journal
 * booked each instrument under.
 */
import type { DatabaseSync } from "node:sqlite";
import type { Decimal } from "decimal.js";
import { FlexDocumentReader, type StatementInfo } from "../flex/reader.ts";
import { statementBytes } from "../journal/statements.ts";
import { securitySymbol } from "../mapping/symbols.ts";
import type { BrokerCash, BrokerPosition } from "../reconcile/compare.ts";
import { type Listing, listingKey, listingOf } from "../reconcile/listing.ts";
import { NothingToReconcileError } from "./errors.ts";

/** Which `<FlexStatement>` of which stored document. */
export interface StatementRef {
  readonly statementId: number;
  readonly ordinal: number;
  readonly origin: string;
  readonly accountId: string;
  readonly fromDate: string | null;
  readonly toDate: string | null;
}

/** The broker side of one account's reconciliation. */
export interface BrokerBooks {
  readonly statement: StatementRef;
  readonly positions: readonly BrokerPosition[];
  readonly cash: readonly BrokerCash[];
}

/**
 * The account's latest statement: the latest `toDate`, then the latest generated, then the last
 * journaled. Null when the journal has none for the account.
 */
export function latestStatement(db: DatabaseSync, accountId: string): StatementRef | null {
  const row = db.prepare(
    `SELECT p.statement_id, p.ordinal, s.origin, p.account_id, p.from_date, p.to_date
     FROM statement_periods p JOIN statements s ON s.id = p.statement_id
     WHERE p.account_id = ?
     ORDER BY p.to_date IS NULL, p.to_date DESC, p.when_generated DESC, p.statement_id DESC,
              p.ordinal DESC
     LIMIT 1`,
  ).get(accountId) as Record<string, string | number | null> | undefined;
  return row
    ? {
      statementId: Number(row.statement_id),
      ordinal: Number(row.ordinal),
      origin: String(row.origin),
      accountId: String(row.account_id),
      fromDate: row.from_date === null ? null : String(row.from_date),
      toDate: row.to_date === null ? null : String(row.to_date),
    }
    : null;
}

/**
 * Reads the broker books of a statement. A statement without an OpenPositions or a CashReport
 * section cannot say what the account holds: that is refused, never read as "holds nothing".
 */
export function readBrokerBooks(db: DatabaseSync, ref: StatementRef): BrokerBooks {
  const positions = new Map<string, MutablePosition>();
  const cash = new Map<string, Decimal>();
  const sections = new Set<string>();
  const mine = (info: StatementInfo) => info.ordinal === ref.ordinal;
  const reader = new FlexDocumentReader(ref.origin, {
    statementStart: () => {},
    row: (row, info) => {
      if (!mine(info)) return;
      if (row.tag === "OpenPosition") {
        // SUMMARY only: LOT rows repeat the same shares per tax lot (contract §2.5).
        if ((row.text("levelOfDetail") ?? "SUMMARY") !== "SUMMARY") return;
        if (!sameAccount(row.text("accountId"), info.accountId)) return;
        const quantity = row.decimal("position");
        const ibkrSymbol = row.text("symbol") ?? "";
        const conid = row.text("conid");
        if (quantity === null) throw row.error("position", "is missing on an open position");
        const key = conid ?? `symbol:${ibkrSymbol}`;
        const known = positions.get(key);
        if (known) {
          known.quantity = known.quantity.plus(quantity);
          return;
        }
        const named = securitySymbol({
          symbol: row.text("symbol"),
          listingExchange: row.text("listingExchange"),
          // Not declared on OpenPosition, but the runbook's query asks for it (older exports).
          exchange: row.attributes["exchange"]?.trim() || null,
          currency: row.text("currency"),
          assetCategory: row.text("assetCategory"),
        });
        positions.set(key, {
          conid,
          isin: row.text("isin"),
          ibkrSymbol,
          symbol: named.ok ? named.value.symbol : null,
          exchangeMic: named.ok ? named.value.exchangeMic : null,
          symbolProblem: named.ok ? null : named.reason,
          quantity,
        });
      } else if (row.tag === "CashReportCurrency") {
        const currency = row.text("currency");
        // BASE_SUMMARY is the base-currency total of the other rows, not a currency.
        if (!currency || currency === "BASE_SUMMARY") return;
        if (row.text("levelOfDetail") === "BaseCurrency") return;
        if (!sameAccount(row.text("accountId"), info.accountId)) return;
        if (cash.has(currency)) {
          throw new NothingToReconcileError(
            `${ref.origin}: FlexStatement ${info.accountId} has two CashReport rows for ` +
              `${currency}; refusing to pick one. Nothing was reconciled`,
          );
        }
        const ending = row.decimal("endingCash");
        if (ending === null) throw row.error("endingCash", "is missing on a CashReport row");
        cash.set(currency, ending);
      }
    },
    sectionEnd: (section, info) => {
      if (mine(info)) sections.add(section);
    },
    statementEnd: () => {},
  });
  for (const chunk of statementBytes(db, ref.statementId)) reader.write(chunk);
  reader.close();
  for (const section of ["OpenPositions", "CashReport"]) {
    if (!sections.has(section)) {
      throw new NothingToReconcileError(
        `${ref.origin}: the latest statement of ${ref.accountId} (to ${
          ref.toDate ?? "?"
        }) has no ` +
          `${section} section, so it cannot say what the account holds; add it to the Flex query ` +
          `(docs/cli.md) and fetch again. Nothing was reconciled`,
      );
    }
  }
  const aliases = bookedListings(db, ref.accountId);
  return {
    statement: ref,
    positions: [...positions.values()].map((p) => ({
      ...p,
      aliases: [
        ...(p.conid ? aliases.byConid.get(p.conid) ?? [] : []),
        ...(p.isin ? aliases.byIsin.get(p.isin) ?? [] : []),
      ],
      wealthfolioAssetIds: [],
    })),
    cash: [...cash.entries()].map(([currency, endingCash]) => ({ currency, endingCash })),
  };
}

interface MutablePosition {
  conid: string | null;
  isin: string | null;
  ibkrSymbol: string;
  symbol: string | null;
  exchangeMic: string | null;
  symbolProblem: string | null;
  quantity: Decimal;
}

/**
 * Rows of another account in the same statement (the CashReport of a consolidated export, a
 * masked `U***4567`) are not this account's; a masked id counts when its visible digits agree.
 */
function sameAccount(rowAccount: string | null, statementAccount: string): boolean {
  if (rowAccount === null || rowAccount === statementAccount) return true;
  if (!rowAccount.includes("*")) return false;
  const pattern = new RegExp(
    `^${rowAccount.split(/\*+/).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".+")}$`,
  );
  return pattern.test(statementAccount);
}

/** Every listing the journal booked a security of this account under, by conid and by ISIN. */
function bookedListings(
  db: DatabaseSync,
  accountId: string,
): { byConid: Map<string, Listing[]>; byIsin: Map<string, Listing[]> } {
  const rows = db.prepare(
    `SELECT DISTINCT symbol, json_extract(payload, '$.exchangeMic') AS mic,
            json_extract(payload, '$.conid') AS conid, json_extract(payload, '$.isin') AS isin
     FROM activities
     WHERE account_id = ? AND symbol IS NOT NULL AND activity_type IS NOT NULL`,
  ).all(accountId) as {
    symbol: string;
    mic: string | null;
    conid: string | null;
    isin: string | null;
  }[];
  const byConid = new Map<string, Listing[]>();
  const byIsin = new Map<string, Listing[]>();
  const add = (map: Map<string, Listing[]>, key: string | null, listing: Listing) => {
    if (!key) return;
    const list = map.get(key) ?? [];
    if (!list.some((l) => listingKey(l) === listingKey(listing))) list.push(listing);
    map.set(key, list);
  };
  for (const r of rows) {
    const listing = listingOf(r.symbol, r.mic);
    add(byConid, r.conid, listing);
    add(byIsin, r.isin, listing);
  }
  return { byConid, byIsin };
}
