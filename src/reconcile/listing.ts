/**
 * A listing as both sides can name it. We book `VUAG.L` @ `XLON`; Wealthfolio shows the same
 * asset as `VUAG` @ `XLON` (it splits a Yahoo suffix into the MIC, contract §4.10), and a US
 * equity may carry no MIC at all. Both reduce to ticker + MIC.
 */
import { splitYahooSuffix, yahooSuffixOfMic } from "../mapping/symbols.ts";

/** Ticker without a Yahoo suffix, upper case, and the MIC when known. */
export interface Listing {
  readonly ticker: string;
  readonly mic: string | null;
}

/**
 * The listing a symbol and MIC name. A suffix is split off only when it agrees with the MIC
 * (or there is no MIC), so a ticker that merely contains a dot is left alone.
 *
 * @example listingOf("VUAG.L", "XLON") // → { ticker: "VUAG", mic: "XLON" }
 * @example listingOf("VUAG", "XLON")   // → { ticker: "VUAG", mic: "XLON" }
 */
export function listingOf(symbol: string, mic: string | null): Listing {
  const upper = symbol.trim().toUpperCase();
  const venueMic = mic?.trim().toUpperCase() || null;
  const split = splitYahooSuffix(upper);
  if (split && (venueMic === null || venueMic === split.mic)) {
    return { ticker: split.ticker, mic: split.mic };
  }
  return { ticker: upper, mic: venueMic };
}

/** Equality key of a listing. */
export function listingKey(l: Listing): string {
  return `${l.ticker}@${l.mic ?? ""}`;
}

/**
 * How a listing is labelled in reports and metrics: the Yahoo form we book under (`VUAG.L`,
 * `AAPL`), or `TICKER@MIC` for a MIC our venue table does not know.
 */
export function listingLabel(l: Listing): string {
  if (l.mic === null) return l.ticker;
  const suffix = yahooSuffixOfMic(l.mic);
  return suffix === undefined ? `${l.ticker}@${l.mic}` : `${l.ticker}${suffix}`;
}
