/**
 * `backfill --from D [--to D]`: history from the Flex Web Service in windows of at most 365 days
 * (IBKR's limit per request), oldest first. Each window is recorded in the journal when done, so
 * a backfill that stops (an error, a crash, a kill) resumes where it stopped: run it again with
 * the same `--from` and the windows already mapped are not asked again. The split starts at
 * `--from`, so the same start always gives the same windows (only the last one grows with "yesterday").
 */
import type { IsoDate } from "../flex/dates.ts";
import { addDays, daysBetween, type FlexWindow, splitWindows } from "../flex/windows.ts";
import { UsageError } from "./errors.ts";
import { checkNotFuture } from "./fetch.ts";
import {
  fetchFlexWindows,
  type FlexWindowsRequest,
  type FlexWindowsResult,
} from "./flex_windows.ts";

/**
 * The windows of `[from, to ?? yesterday]`.
 *
 * @example
 * backfillPlan("2024-01-01", undefined, "2025-06-01");
 * // [{ from: "2024-01-01", to: "2024-12-30" }, { from: "2024-12-31", to: "2025-05-31" }]
 */
export function backfillPlan(from: IsoDate, to: IsoDate | undefined, today: IsoDate): FlexWindow[] {
  checkNotFuture(from, "--from", today);
  checkNotFuture(to, "--to", today);
  const end = to ?? addDays(today, -1);
  if (daysBetween(from, end) < 0) {
    throw new UsageError(
      `--from ${from} is after ${to === undefined ? "yesterday" : "--to"} ${end}`,
    );
  }
  return splitWindows(from, end);
}

/** Runs a windowed backfill. */
export function backfillWindows(
  request: Omit<FlexWindowsRequest, "plan" | "skipFetched" | "command"> & {
    readonly from: IsoDate;
    readonly to?: IsoDate;
    readonly today: IsoDate;
  },
): Promise<FlexWindowsResult> {
  const windows = backfillPlan(request.from, request.to, request.today);
  return fetchFlexWindows({
    ...request,
    command: "backfill",
    skipFetched: true,
    plan: () => windows,
  });
}
