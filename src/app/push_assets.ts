/**
 * The Wealthfolio asset of each security the push books: cached in the journal, else created
 * with `POST /assets` (which answers the existing asset when Wealthfolio has the instrument).
 *
 * The quote currency is IBKR's: the currency the journal's trades of the instrument are in, so
 * an LSE listing is GBP, never pence by accident (Wealthfolio's own fallback for XLON is GBp,
 * wealthfolio-api.md §4.10). A security with no trade in the journal (a dividend alone) is looked
 * up among Wealthfolio's assets; if it is not there either, it is not guessed: its activities
 * fail with a message saying what to do.
 */
import type { DatabaseSync } from "node:sqlite";
import { getLogger } from "@logtape/logtape";
import type { ActivityPayload } from "../domain/payload.ts";
import { transaction } from "../journal/db.ts";
import { cacheAsset, cachedAssets, instrumentOf, tradeCurrency } from "../journal/wf_assets.ts";
import { bareTicker } from "../mapping/symbols.ts";
import type { WireSymbol } from "../wealthfolio/activities.ts";
import type { WealthfolioClient, WfAsset } from "../wealthfolio/client.ts";

/** How an instrument's asset was (or, in a plan, would be) found. */
export type AssetOutcome =
  | "cached"
  | "existing"
  | "resolved"
  | "to-resolve"
  | "unknown-quote-currency"
  | "refused";

/** One instrument of the push and its asset. */
export interface AssetPush {
  /** `VUAG.L@XLON` */
  readonly instrument: string;
  readonly quoteCcy: string | null;
  readonly assetId: string | null;
  readonly outcome: AssetOutcome;
  /** Why the activities of this instrument cannot be pushed (unknown-quote-currency, refused). */
  readonly message?: string;
}

/** The resolved asset to book an activity against, or why there is none. */
export type AssetResolution =
  | { readonly ok: true; readonly wire: WireSymbol; readonly report: AssetPush }
  | { readonly ok: false; readonly message: string; readonly report: AssetPush };

interface Need {
  readonly instrument: string;
  readonly symbol: string;
  readonly mic: string | null;
  readonly instrumentType: string;
  readonly name: string | null;
}

const log = getLogger(["broker-sync", "push"]);

/** The distinct instruments of some activities. */
function needsOf(payloads: readonly ActivityPayload[]): Need[] {
  const needs = new Map<string, Need>();
  for (const p of payloads) {
    if (p.symbol === null) continue;
    const instrument = instrumentOf(p.symbol, p.exchangeMic);
    const known = needs.get(instrument);
    if (known && (known.name !== null || p.name === null)) continue;
    needs.set(instrument, {
      instrument,
      symbol: p.symbol,
      mic: p.exchangeMic,
      instrumentType: p.instrumentType ?? "EQUITY",
      name: p.name ?? known?.name ?? null,
    });
  }
  return [...needs.values()];
}

/**
 * Resolves the assets of `payloads` (those that need one). With `create: false` (a dry run)
 * nothing is written anywhere: an asset not cached is reported `to-resolve`.
 */
export async function resolveAssets(
  o: {
    db: DatabaseSync;
    client: WealthfolioClient;
    create: boolean;
    now: () => string;
  },
  payloads: readonly ActivityPayload[],
): Promise<Map<string, AssetResolution>> {
  const cache = cachedAssets(o.db, o.client.baseUrl);
  const out = new Map<string, AssetResolution>();
  let wfAssets: WfAsset[] | null = null;
  for (const need of needsOf(payloads)) {
    const bare = bareTicker(need.symbol, need.mic);
    const wire = (id: string | undefined, quoteCcy: string): WireSymbol => ({
      ...(id ? { id } : {}),
      symbol: bare,
      ...(need.mic ? { exchangeMic: need.mic } : {}),
      instrumentType: need.instrumentType,
      quoteCcy,
      ...(need.name ? { name: need.name } : {}),
    });
    const cached = cache.get(need.instrument);
    if (cached) {
      out.set(need.instrument, {
        ok: true,
        wire: wire(cached.wfAssetId, cached.quoteCcy),
        report: {
          instrument: need.instrument,
          quoteCcy: cached.quoteCcy,
          assetId: cached.wfAssetId,
          outcome: "cached",
        },
      });
      continue;
    }
    const quoteCcy = tradeCurrency(o.db, need.symbol, need.mic);
    if (quoteCcy === null) {
      wfAssets ??= await o.client.assets();
      const existing = wfAssets.find((a) =>
        a.instrumentSymbol === bare && (a.instrumentExchangeMic ?? null) === need.mic
      );
      if (existing) {
        if (o.create) remember(o, need, existing);
        out.set(need.instrument, {
          ok: true,
          wire: wire(existing.id, existing.quoteCcy),
          report: {
            instrument: need.instrument,
            quoteCcy: existing.quoteCcy,
            assetId: existing.id,
            outcome: "existing",
          },
        });
        continue;
      }
      const message = `no quote currency known for ${need.instrument}: the journal has no trade ` +
        "of it and Wealthfolio no such asset; create the asset in Wealthfolio, then " +
        "broker-sync import --retry-failed";
      out.set(need.instrument, {
        ok: false,
        message,
        report: {
          instrument: need.instrument,
          quoteCcy: null,
          assetId: null,
          outcome: "unknown-quote-currency",
          message,
        },
      });
      continue;
    }
    if (!o.create) {
      out.set(need.instrument, {
        ok: true,
        wire: wire(undefined, quoteCcy),
        report: { instrument: need.instrument, quoteCcy, assetId: null, outcome: "to-resolve" },
      });
      continue;
    }
    const answer = await o.client.createAsset({
      kind: "INVESTMENT",
      name: need.name,
      displayCode: bare,
      isActive: true,
      quoteMode: "MARKET",
      quoteCcy,
      instrumentType: need.instrumentType,
      instrumentSymbol: bare,
      instrumentExchangeMic: need.mic,
    });
    if (answer.kind === "refused") {
      const message = `Wealthfolio refused the asset ${need.instrument}: ${answer.message}`;
      out.set(need.instrument, {
        ok: false,
        message,
        report: {
          instrument: need.instrument,
          quoteCcy,
          assetId: null,
          outcome: "refused",
          message,
        },
      });
      continue;
    }
    if (answer.asset.quoteCcy !== quoteCcy) {
      // Wealthfolio already had the instrument, quoted otherwise (e.g. GBp from its UI): the
      // activities still carry IBKR's currency and amounts; Wealthfolio converts quotes.
      log.warn(
        "asset {instrument} exists in Wealthfolio quoted in {theirs}; IBKR trades it in {ours}",
        {
          instrument: need.instrument,
          theirs: answer.asset.quoteCcy,
          ours: quoteCcy,
        },
      );
    }
    remember(o, need, answer.asset);
    out.set(need.instrument, {
      ok: true,
      wire: wire(answer.asset.id, answer.asset.quoteCcy),
      report: {
        instrument: need.instrument,
        quoteCcy: answer.asset.quoteCcy,
        assetId: answer.asset.id,
        outcome: "resolved",
      },
    });
  }
  return out;
}

function remember(
  o: { db: DatabaseSync; client: WealthfolioClient; now: () => string },
  need: Need,
  asset: WfAsset,
): void {
  transaction(o.db, () =>
    cacheAsset(o.db, o.client.baseUrl, {
      instrument: need.instrument,
      wfAssetId: asset.id,
      quoteCcy: asset.quoteCcy,
      instrumentType: asset.instrumentType ?? need.instrumentType,
    }, o.now()));
}
