/**
 * `sync`, the CronJob's command: fetch → import → reconcile under one run lock, recorded as one
 * `sync` run beside the runs each step records itself.
 *
 * Every step runs whatever the earlier ones came to, because each works on what the journal
 * already holds: IBKR refusing the token does not stop the push of what earlier runs journaled,
 * nor the reconciliation against the latest statement; Wealthfolio refusing some rows does not
 * stop the reconciliation that shows what they leave out. Only the lock is all or nothing: held
 * by another run, nothing is done at all.
 *
 * The sync succeeded when every step did all its work: fetch journaled every window, import
 * pushed every activity, reconcile compared every account. What reconcile finds (drift) is not a
 * failure of the sync: it has its own metrics, alerts and exit code.
 */
import type { DatabaseSync } from "node:sqlite";
import { journalPath, openJournal, transaction } from "../journal/db.ts";
import { acquireRunLock, type RunLock } from "../journal/lock.ts";
import { finishRun, startRun } from "../journal/runs.ts";
import type { FlexWindowsResult } from "./flex_windows.ts";
import type { PushReport } from "./push.ts";
import type { ReconcileReport } from "./reconcile.ts";

/** The steps, in the order they run. */
export const SYNC_STEPS = ["fetch", "import", "reconcile"] as const;
export type StepName = typeof SYNC_STEPS[number];

/** What a step that returned came to. */
export interface StepResult<T> {
  readonly result: T;
  /** 0, or what the step found wanting though it finished: rows refused (23), drift (30). */
  readonly exitCode: number;
  /** Whether it did all its work (a push that stopped early or had rows refused did not). */
  readonly complete: boolean;
  /** Why it is incomplete, in one line. */
  readonly message?: string | null;
}

/** The steps, each run under the sync's lock. */
export interface SyncSteps {
  fetch(lock: RunLock): Promise<StepResult<FlexWindowsResult>>;
  import(lock: RunLock): Promise<StepResult<PushReport>>;
  reconcile(lock: RunLock): Promise<StepResult<ReconcileReport>>;
}

/** One step of a sync run, as reported and recorded. */
export interface StepReport {
  readonly step: StepName;
  /** `ok`: did all its work; `failed`: threw, or finished incompletely. */
  readonly outcome: "ok" | "failed";
  readonly exitCode: number;
  /** What the step returned, or null when it threw. */
  readonly result: FlexWindowsResult | PushReport | ReconcileReport | null;
  /** Why it failed: the error's one line, or null. */
  readonly message: string | null;
}

export interface SyncRequest {
  readonly dataDir: string;
  readonly steps: SyncSteps;
  readonly now: () => Date;
  /** The exit code of a step that threw. */
  readonly exitCodeOf: (error: unknown) => number;
  /** The sync's one exit code from its steps' (the cli's severity order). */
  readonly worst: (codes: readonly number[]) => number;
  /** Told each step's report as soon as the step ends. */
  readonly onStep?: (report: StepReport) => void;
}

export interface SyncReport {
  readonly runId: number;
  readonly journal: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  /** Every step did all its work. */
  readonly succeeded: boolean;
  readonly exitCode: number;
  readonly steps: readonly StepReport[];
}

/**
 * Runs a sync. Throws JournalLockedError, having done nothing, when another run holds the lock;
 * a journal that cannot be opened is thrown too (every step would meet it).
 */
export async function sync(request: SyncRequest): Promise<SyncReport> {
  const lock = acquireRunLock(request.dataDir);
  try {
    const path = journalPath(request.dataDir);
    const startedAt = request.now().toISOString();
    const runId = withJournal(path, (db) => transaction(db, () => startRun(db, "sync", startedAt)));
    const steps: StepReport[] = [];
    for (const name of SYNC_STEPS) {
      const report = await runStep(request, name, lock);
      steps.push(report);
      request.onStep?.(report);
    }
    const succeeded = steps.every((s) => s.outcome === "ok");
    const exitCode = request.worst(steps.map((s) => s.exitCode));
    const finishedAt = request.now().toISOString();
    withJournal(path, (db) =>
      transaction(db, () =>
        finishRun(db, runId, {
          finishedAt,
          outcome: succeeded ? "ok" : "failed",
          exitCode,
          counts: { steps: Object.fromEntries(steps.map((s) => [s.step, stepCounts(s)])) },
        })));
    return { runId, journal: path, startedAt, finishedAt, succeeded, exitCode, steps };
  } finally {
    lock.release();
  }
}

async function runStep(request: SyncRequest, name: StepName, lock: RunLock): Promise<StepReport> {
  try {
    const done: StepResult<StepReport["result"]> = await request.steps[name](lock);
    return {
      step: name,
      outcome: done.complete ? "ok" : "failed",
      exitCode: done.exitCode,
      result: done.result,
      message: done.message ?? null,
    };
  } catch (error) {
    return {
      step: name,
      outcome: "failed",
      exitCode: request.exitCodeOf(error),
      result: null,
      message: error instanceof Error ? error.message : String(error),
    };
  }
}

function withJournal<T>(path: string, work: (db: DatabaseSync) => T): T {
  const db = openJournal(path, { create: true });
  try {
    return work(db);
  } finally {
    db.close();
  }
}

/** A step as the sync's run records it: enough to find the step's own run. */
function stepCounts(s: StepReport): Record<string, unknown> {
  const runId = s.result && "runId" in s.result ? s.result.runId : null;
  return { outcome: s.outcome, exitCode: s.exitCode, runId, error: s.message };
}
