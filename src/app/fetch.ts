/**
 * `fetch`: the statements since the last fetch, from the Flex Web Service. The window is
 * `[last fetched day − overlap, yesterday]` (New York's yesterday: IBKR's business day), or the
 * last 365 days on the first run; `--from`/`--to` override either end. Corrections arrive days
 * later with a later reportDate, so the overlap is fetched again; keys make that harmless. A span
 * longer than 365 days becomes several requests (IBKR's limit per request).
 */
import type { IsoDate } from "../flex/dates.ts";
import {
  addDays,
  daysBetween,
  type FlexWindow,
  MAX_WINDOW_DAYS,
  splitWindows,
} from "../flex/windows.ts";
import { lastFetchedDay } from "../journal/fetch_windows.ts";
import { UsageError } from "./errors.ts";
import {
  fetchFlexWindows,
  type FlexWindowsRequest,
  type FlexWindowsResult,
} from "./flex_windows.ts";

/** Days fetched again before the last fetched day, by default. */
export const DEFAULT_OVERLAP_DAYS = 7;

export interface FetchWindowOptions {
  readonly from?: IsoDate;
  readonly to?: IsoDate;
  readonly overlapDays: number;
  /** Today in New York. */
  readonly today: IsoDate;
}

/**
 * The windows of one fetch, given the last day already fetched for the query.
 *
 * @example
 * fetchPlan("2026-03-01", { overlapDays: 7, today: "2026-03-10" });
 * // [{ from: "2026-02-22", to: "2026-03-09" }]
 */
export function fetchPlan(last: IsoDate | null, o: FetchWindowOptions): FlexWindow[] {
  checkNotFuture(o.from, "--from", o.today);
  checkNotFuture(o.to, "--to", o.today);
  const to = o.to ?? addDays(o.today, -1);
  const from = o.from ??
    (last === null ? addDays(to, -(MAX_WINDOW_DAYS - 1)) : addDays(last, -o.overlapDays));
  if (daysBetween(from, to) < 0) {
    throw new UsageError(
      o.from !== undefined
        ? `--from ${from} is after the window's end ${to}`
        : `--to ${to} is before the window's start ${from} (last fetched ${last} − ${o.overlapDays} days overlap); give --from too`,
    );
  }
  return splitWindows(from, to);
}

/** Runs a fetch. */
export function fetchStatements(
  request: Omit<FlexWindowsRequest, "plan" | "skipFetched" | "command"> & {
    readonly window: FetchWindowOptions;
  },
): Promise<FlexWindowsResult> {
  // The flags alone are checked before the journal is opened: a typo must not leave a run behind.
  fetchPlan(null, request.window);
  return fetchFlexWindows({
    ...request,
    command: "fetch",
    skipFetched: false,
    plan: (db) => fetchPlan(lastFetchedDay(db, request.queryId), request.window),
  });
}

/** IBKR has nothing for days that have not happened. */
export function checkNotFuture(date: IsoDate | undefined, flag: string, today: IsoDate): void {
  if (date !== undefined && daysBetween(today, date) > 0) {
    throw new UsageError(`${flag} ${date} is in the future (today is ${today} in New York)`);
  }
}
