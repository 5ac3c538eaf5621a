/**
 * Which CashReportCurrency rows are the statement's own books. A statement's CashReport can carry
 * rows of other accounts (jal `ibkr.xml`: `TEST_ACC`), and IBKR may mask the account on these rows
 * (`U***4321`; contracts/ibkr-flex.md §2.1, where jal unmasks by the visible digits).
 */
import type { AnyFlexRow } from "../flex/reader.ts";
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
