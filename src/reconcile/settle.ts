/**
 * Wealthfolio recalculates holdings asynchronously: every write restarts a 1 s debounce, then a
 * snapshot rebuild runs (contract §4.12). Until it has run, `GET /holdings` answers the previous
 * snapshot. Holdings count as settled when two reads, `intervalMs` apart, agree on every
 * quantity; an interval longer than the debounce means the second read comes after a rebuild
 * that the first one may have missed.
 *
 * Only what reconciliation compares is compared: quantities and cash balances, never prices or
 * market values, which move with quotes and would never settle.
 */
import type { Holding, HoldingsSource } from "../wealthfolio/holdings.ts";

export interface SettleOptions {
  /** Between two reads; longer than Wealthfolio's 1 s debounce. */
  readonly intervalMs: number;
  /** Give up when settling would take longer than this from the first read. */
  readonly deadlineMs: number;
  /** Milliseconds, monotonic enough to measure the deadline. */
  readonly clock: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

export const DEFAULT_SETTLE: Pick<SettleOptions, "intervalMs" | "deadlineMs"> = {
  intervalMs: 2_000,
  deadlineMs: 60_000,
};

/** Holdings did not settle before the deadline: Wealthfolio is still recalculating. */
export class HoldingsUnsettledError extends Error {
  constructor(
    readonly wealthfolioAccountId: string,
    readonly reads: number,
    readonly waitedMs: number,
  ) {
    super(
      `Wealthfolio account ${wealthfolioAccountId}: holdings still changing after ${reads} reads ` +
        `over ${Math.round(waitedMs / 1000)} s (Wealthfolio is still recalculating); nothing was ` +
        `reconciled. Run reconcile again later, or raise the settle deadline`,
    );
    this.name = "HoldingsUnsettledError";
  }
}

/** Settled holdings and how many reads it took. */
export interface SettledHoldings {
  readonly holdings: readonly Holding[];
  readonly reads: number;
}

/** Reads until two consecutive reads agree, or throws HoldingsUnsettledError at the deadline. */
export async function readSettledHoldings(
  source: HoldingsSource,
  wealthfolioAccountId: string,
  options: SettleOptions,
): Promise<SettledHoldings> {
  const start = options.clock();
  let holdings = await source.holdings(wealthfolioAccountId);
  let previous = fingerprint(holdings);
  let reads = 1;
  for (;;) {
    const waited = options.clock() - start;
    if (waited + options.intervalMs > options.deadlineMs) {
      throw new HoldingsUnsettledError(wealthfolioAccountId, reads, waited);
    }
    await options.sleep(options.intervalMs);
    holdings = await source.holdings(wealthfolioAccountId);
    reads++;
    const current = fingerprint(holdings);
    if (current === previous) return { holdings, reads };
    previous = current;
  }
}

/** What must stay the same between two reads, independent of list order. */
function fingerprint(holdings: readonly Holding[]): string {
  return holdings.map((h) =>
    [h.holdingType, h.instrumentId ?? h.id, h.currency ?? "", h.quantity.toFixed()].join("|")
  ).sort().join("\n");
}
