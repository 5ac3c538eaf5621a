/**
 * The `wf_assets` table: which Wealthfolio asset each of our instruments was resolved to, per
 * Wealthfolio server, so an asset is created (or looked up) once and not on every run.
 */
import type { DatabaseSync } from "node:sqlite";

/** An instrument's Wealthfolio asset as cached. */
export interface CachedAsset {
  readonly instrument: string;
  readonly wfAssetId: string;
  readonly quoteCcy: string;
  readonly instrumentType: string | null;
}

/** `VUAG.L@XLON`: the instrument as we book it, our cache's key. */
export function instrumentOf(symbol: string, exchangeMic: string | null): string {
  return `${symbol}@${exchangeMic ?? ""}`;
}

/** The cached assets of a server, by instrument. */
export function cachedAssets(db: DatabaseSync, baseUrl: string): Map<string, CachedAsset> {
  return new Map(
    (db.prepare(
      "SELECT instrument, wf_asset_id, quote_ccy, instrument_type FROM wf_assets WHERE base_url = ?",
    ).all(baseUrl) as Record<string, string | null>[]).map((r) => [String(r.instrument), {
      instrument: String(r.instrument),
      wfAssetId: String(r.wf_asset_id),
      quoteCcy: String(r.quote_ccy),
      instrumentType: r.instrument_type,
    }]),
  );
}

/** Caches (or replaces) an instrument's asset. */
export function cacheAsset(
  db: DatabaseSync,
  baseUrl: string,
  asset: CachedAsset,
  now: string,
): void {
  db.prepare(
    `INSERT INTO wf_assets (base_url, instrument, wf_asset_id, quote_ccy, instrument_type, resolved_at)
     VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (base_url, instrument) DO UPDATE SET wf_asset_id = excluded.wf_asset_id,
       quote_ccy = excluded.quote_ccy, instrument_type = excluded.instrument_type,
       resolved_at = excluded.resolved_at`,
  ).run(baseUrl, asset.instrument, asset.wfAssetId, asset.quoteCcy, asset.instrumentType, now);
}

/**
 * The currency IBKR trades an instrument in, from the journal's trades of it: the listing's
 * quote currency (an LSE listing trades in GBP; a GBX trade was booked in GBP already). Null
 * when the journal has no trade of it (a dividend alone does not say: it may be paid in
 * another currency than the listing's).
 */
export function tradeCurrency(
  db: DatabaseSync,
  symbol: string,
  exchangeMic: string | null,
): string | null {
  const row = db.prepare(
    `SELECT json_extract(payload, '$.currency') AS currency FROM activities
     WHERE symbol = ? AND activity_type IN ('BUY', 'SELL')
       AND json_extract(payload, '$.exchangeMic') IS ?
     ORDER BY business_date, key LIMIT 1`,
  ).get(symbol, exchangeMic) as { currency: string | null } | undefined;
  return row?.currency ?? null;
}
