/**
 * The bundled sample statement (fixtures/U1234567-2025.xml) and the variants reconciliation tests
 * need, as text. Each edit asserts that it found what it changes, so a fixture edit cannot turn a
 * variant silently into the original.
 */
import assert from "node:assert/strict";
import { FIXTURE } from "../cli/run_cli.ts";

/** The bundled statement as it is: its "Fees Rebate" (0.5 GBP) is skipped, so GBP cash drifts. */
export function sampleStatement(): string {
  return Deno.readTextFileSync(FIXTURE);
}

/**
 * The bundled statement made consistent: without the "Fees Rebate" row (a type we skip), and
 * with the GBP CashReport that therefore moves 0.5 less. What we book is then all IBKR booked.
 */
export function consistentStatement(): string {
  const text = sampleStatement();
  const rebate = /\s*<CashTransaction [^>]*type="Fees Rebate"[^>]*\/>/;
  const gbp =
    /(currency="GBP"[^>]*?)endingCash="695.2575"(\s+deposits="5000" brokerInterest="4.17"\s+commissions="-5.85") otherFees="0.5"/;
  assert.match(text, rebate);
  assert.match(text, gbp);
  return text.replace(rebate, "").replace(gbp, '$1endingCash="694.7575"$2 otherFees="0"');
}

/** `text` with IBKR reporting `position` shares of `symbol` in OpenPositions. */
export function withPosition(text: string, symbol: string, position: string): string {
  const row = new RegExp(`(<OpenPosition [^>]*symbol="${symbol}"[^>]*?)position="[^"]*"`);
  assert.match(text, row);
  return text.replace(row, `$1position="${position}"`);
}
