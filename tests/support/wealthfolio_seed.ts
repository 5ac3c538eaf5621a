/**
 * Puts a journal's activities into the Wealthfolio stand-in, for reconciliation tests until the
 * real push (the Wealthfolio issue) exists: log in, send every pending activity through
 * `POST /activities/bulk` the way the contract's §12 describes, and mark them pushed. Test
 * infrastructure only; it does none of the push's care (chunking, duplicates, failures).
 */
import { DatabaseSync } from "node:sqlite";
import type { ActivityPayload } from "../../src/domain/payload.ts";
import { journalPath } from "../../src/journal/db.ts";

/** Logs in and returns the session token from the `wf_session` cookie. */
export async function wealthfolioLogin(baseUrl: string, password: string): Promise<string> {
  const response = await fetch(`${baseUrl}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ password }),
  });
  await response.body?.cancel();
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith("wf_session="));
  if (!response.ok || !cookie) throw new Error(`login failed: HTTP ${response.status}`);
  return cookie.split(";")[0].slice("wf_session=".length);
}

/** Calls the stand-in with the session; throws on a non-2xx answer or bulk `errors[]`. */
export async function wealthfolioCall(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const response = await fetch(`${baseUrl}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${text}`);
  const json = text ? JSON.parse(text) : null;
  if (json?.errors?.length) throw new Error(`${method} ${path}: ${JSON.stringify(json.errors)}`);
  return json;
}

/** Creates an equity asset the way an operator (or Wealthfolio's UI) would; returns its id. */
export async function createEquityAsset(
  baseUrl: string,
  password: string,
  asset: { symbol: string; mic: string; quoteCcy: string },
): Promise<string> {
  const token = await wealthfolioLogin(baseUrl, password);
  const created = await wealthfolioCall(baseUrl, token, "POST", "/assets", {
    kind: "INVESTMENT",
    quoteMode: "MARKET",
    quoteCcy: asset.quoteCcy,
    instrumentType: "EQUITY",
    instrumentSymbol: asset.symbol,
    instrumentExchangeMic: asset.mic,
  });
  return (created as { id: string }).id;
}

/** The stand-in's NewActivity for a journal payload. */
export function newActivity(p: ActivityPayload, accountId: string): Record<string, unknown> {
  return {
    accountId,
    activityType: p.activityType,
    subtype: p.subtype,
    activityDate: p.date,
    // Cash activities never carry a symbol (contract §4.11).
    ...(p.symbol
      ? {
        symbol: {
          symbol: p.symbol,
          exchangeMic: p.exchangeMic,
          instrumentType: p.instrumentType,
          quoteCcy: p.currency,
          name: p.name,
        },
      }
      : {}),
    quantity: p.quantity,
    unitPrice: p.unitPrice,
    amount: p.amount,
    fee: p.fee,
    currency: p.currency,
    notes: p.notes,
    idempotencyKey: p.key,
    sourceSystem: "IBKR",
    sourceRecordId: p.sourceRecordId,
  };
}

/**
 * Sends every pending activity of the journal to the Wealthfolio account mapped to its IBKR
 * account, and marks them pushed. Returns how many were sent.
 */
export async function pushJournal(
  baseUrl: string,
  token: string,
  dataDir: string,
  accounts: Readonly<Record<string, string>>,
): Promise<number> {
  const db = new DatabaseSync(journalPath(dataDir));
  try {
    const rows = db.prepare(
      "SELECT key, payload FROM activities WHERE state = 'pending' AND activity_type IS NOT NULL ORDER BY key",
    ).all() as { key: string; payload: string }[];
    const payloads = rows.map((r) => JSON.parse(r.payload) as ActivityPayload);
    const creates = payloads.map((p) => newActivity(p, accounts[p.account]));
    if (creates.length) {
      await wealthfolioCall(baseUrl, token, "POST", "/activities/bulk", { creates });
    }
    const mark = db.prepare("UPDATE activities SET state = 'pushed' WHERE key = ?");
    for (const r of rows) mark.run(r.key);
    return creates.length;
  } finally {
    db.close();
  }
}
