/**
 * Which CashReportCurrency rows are the statement's own books. A statement's CashReport can carry
 * rows of other accounts (jal `ibkr.xml`: `TEST_ACC`), and IBKR may mask the account on these rows
 * (`U***4321`; contracts/ibkr-flex.md §2.1, where jal unmasks by the visible digits).
 */
import type { AnyFlexRow } from "../flex/reader.ts";
import { parseFlexDecimal } from "../flex/row.ts";
import type { CashReportRow } from "./verify.ts";

/**
 * The row as one currency's books of `statementAccount`, or null when it is the BASE_SUMMARY, or
 * another account's.
 *
 * @example
 * // <CashReportCurrency accountId="U***4321" currency="USD" levelOfDetail="Currency" …/>
 * cashReportRow(row, "U7654321") // → { currency: "USD", attributes: {…} }
 * cashReportRow(row, "U1234999") // → null
 */
export function cashReportRow(row: AnyFlexRow, statementAccount: string): CashReportRow | null {
  if (row.tag !== "CashReportCurrency") return null;
  const currency = row.text("currency");
  if (!currency || currency === "BASE_SUMMARY" || row.text("levelOfDetail") === "BaseCurrency") {
    return null;
  }
  const account = row.text("accountId");
  if (account !== null && !sameAccount(account, statementAccount)) return null;
  return { currency, attributes: row.attributes };
}

/** The statement's own BASE_SUMMARY row (all currencies in the base currency), or null. */
export function baseSummaryRow(row: AnyFlexRow, statementAccount: string): CashReportRow | null {
  if (row.tag !== "CashReportCurrency") return null;
  if (row.text("currency") !== "BASE_SUMMARY") return null;
  const account = row.text("accountId");
  if (account !== null && !sameAccount(account, statementAccount)) return null;
  return { currency: "BASE_SUMMARY", attributes: row.attributes };
}

/**
 * A CashReport with only its BASE_SUMMARY row (PP `…File17.xml`, `…File24.xml`) is still a
 * referee when nothing needed converting: every mapped row carries IBKR's own `fxRateToBase` of
 * exactly 1 and the summary records no FX translation (`fxTranslationGainLoss` 0). The base
 * movement is then the rows' own amounts, so the summary stands as the books of `currency`.
 * Returns null when those conditions do not hold: the cash is then not checked.
 *
 * @example baseSummaryAsCurrency(base, "USD", true) // → { currency: "USD", attributes: base's }
 */
export function baseSummaryAsCurrency(
  base: CashReportRow,
  currency: string,
  everyRowAtRateOne: boolean,
): CashReportRow | null {
  if (!everyRowAtRateOne) return null;
  const translation = parseFlexDecimal(base.attributes["fxTranslationGainLoss"] ?? "");
  if (translation === undefined || !translation.isZero()) return null;
  return { currency, attributes: base.attributes };
}

/** Whether a row converts to base at exactly 1, by its own `fxRateToBase`. */
export function atRateOne(row: AnyFlexRow): boolean {
  const rate = parseFlexDecimal(row.attributes["fxRateToBase"] ?? "");
  return rate !== undefined && rate.equals(1);
}

/**
 * Whether a row's account is the statement's: the same id, or a mask of it (same length, every
 * visible character in place).
 *
 * @example sameAccount("U***4321", "U7654321") // → true
 */
export function sameAccount(rowAccount: string, statementAccount: string): boolean {
  if (rowAccount === statementAccount) return true;
  if (!rowAccount.includes("*") || rowAccount.length !== statementAccount.length) return false;
  return [...rowAccount].every((c, i) => c === "*" || c === statementAccount[i]);
}
