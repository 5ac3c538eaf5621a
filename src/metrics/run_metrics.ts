/**
 * What one run tells Prometheus, as plain data: drift per position and currency, the journal's
 * activities by state and skipped rows by reason, Flex error codes seen, how long the run took,
 * how it ended, when the last fully successful sync finished, and when the Flex token expires.
 */
import type { Decimal } from "decimal.js";

/** The Pushgateway job of the runbook. */
export const METRICS_JOB = "broker-sync-ibkr";

/** What is known about one IBKR account. */
export interface AccountMetrics {
  readonly account: string;
  /** Drift per position label, reconciled in this run (empty when this run did not reconcile). */
  readonly positionDrift: readonly { readonly symbol: string; readonly drift: Decimal }[];
  readonly cashDrift: readonly { readonly currency: string; readonly drift: Decimal }[];
  /** Journal activities by state. */
  readonly activities: Readonly<Record<string, number>>;
  /** Journal rows skipped, by reason. */
  readonly skippedRows: Readonly<Record<string, number>>;
}

export interface RunMetrics {
  readonly job: string;
  /** The command that ran (`sync`, `reconcile`). */
  readonly command: string;
  /** One Pushgateway group per account; none means one group for the job alone. */
  readonly accounts: readonly AccountMetrics[];
  /** IBKR Flex Web Service error codes answered during the run, with how often. */
  readonly flexErrors: Readonly<Record<string, number>>;
  readonly durationSeconds: number;
  readonly exitCode: number;
  /** When the last `sync` with every step ok finished; null when there never was one. */
  readonly lastSuccess: Date | null;
  /** When the Flex token expires, when that is known. */
  readonly tokenExpiry: Date | null;
}
