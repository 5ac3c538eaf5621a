/**
 * Everything printed to stdout goes through here: results for humans, or one JSON document with
 * `--json`. Secrets are removed on the way out.
 */
import type { ActivityPayload } from "../domain/payload.ts";
import type { JournalActivity } from "../journal/activities.ts";
import { redactSecrets } from "./secrets.ts";

const encoder = new TextEncoder();

/** Writes text to stdout. */
export function print(text: string): void {
  Deno.stdout.writeSync(encoder.encode(redactSecrets(text.endsWith("\n") ? text : `${text}\n`)));
}

/** Writes one JSON document to stdout. */
export function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}

/** The `--json` shape of a journal activity (docs/cli.md). Every decimal is a string. */
export interface ActivityView {
  readonly key: string;
  readonly account: string;
  readonly activityType: string | null;
  readonly subtype: string | null;
  readonly date: string | null;
  readonly symbol: string | null;
  readonly exchangeMic: string | null;
  readonly isin: string | null;
  readonly conid: string | null;
  readonly quantity: string | null;
  readonly unitPrice: string | null;
  readonly amount: string | null;
  readonly fee: string | null;
  readonly currency: string | null;
  readonly notes: string | null;
  readonly groupKey: string | null;
  /** What Wealthfolio stores as metadata, e.g. `{flow: {is_external: true}}` for a transfer from another broker. */
  readonly metadata: Readonly<Record<string, unknown>> | null;
  readonly state: string;
  readonly reason: string | null;
  /** For a skipped row: what the row was, as IBKR wrote it. */
  readonly source?: Record<string, string | null>;
}

/** Converts a journal row into its `--json` view. */
export function activityView(a: JournalActivity): ActivityView {
  if ("skipped" in a.payload) {
    const row = a.payload.skipped;
    return {
      key: a.key,
      account: a.account,
      activityType: null,
      subtype: null,
      date: a.businessDate ? `${a.businessDate}T00:00:00Z` : null,
      symbol: row.symbol ?? null,
      exchangeMic: null,
      isin: null,
      conid: null,
      quantity: null,
      unitPrice: null,
      amount: null,
      fee: null,
      currency: row.currency ?? null,
      notes: row.description ?? null,
      groupKey: null,
      metadata: null,
      state: a.state,
      reason: a.reason,
      source: row,
    };
  }
  const p: ActivityPayload = a.payload;
  return {
    key: p.key,
    account: p.account,
    activityType: p.activityType,
    subtype: p.subtype,
    date: p.date,
    symbol: p.symbol,
    exchangeMic: p.exchangeMic,
    isin: p.isin,
    conid: p.conid,
    quantity: p.quantity,
    unitPrice: p.unitPrice,
    amount: p.amount,
    fee: p.fee,
    currency: p.currency,
    notes: p.notes,
    groupKey: p.groupKey,
    metadata: p.metadata,
    state: a.state,
    reason: a.reason,
  };
}

/** Renders rows as an aligned text table. */
export function table(
  headers: readonly string[],
  rows: readonly (readonly (string | number | null)[])[],
): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null ? "" : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells.map((r) => r.map((c, i) => (c ?? "").padEnd(widths[i])).join("  ").trimEnd()).join(
    "\n",
  );
}

/** `{a: 2, b: 1}` → `a 2, b 1`, largest first. */
export function countsText(counts: Record<string, number>): string {
  const entries = Object.entries(counts).sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]));
  return entries.length ? entries.map(([k, n]) => `${k} ${n}`).join(", ") : "none";
}
