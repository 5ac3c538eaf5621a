/**
 * Pushing a run's metrics from the command line: gathered from the run's facts and the journal,
 * PUT to PUSHGATEWAY_URL, and what became of them logged in one line (`reconcile` and `sync`).
 */
import type { RunFacts } from "../app/run_metrics.ts";
import type { PushOutcome } from "../metrics/pushgateway.ts";
import type { Config } from "./config.ts";
import { logger } from "./logging.ts";

/** Collects and pushes; never throws for a push that failed (the outcome says so). */
export async function publishRunMetrics(
  config: Config,
  facts: Omit<RunFacts, "dataDir">,
): Promise<PushOutcome> {
  const { collectRunMetrics } = await import("../app/run_metrics.ts");
  const { pushMetrics } = await import("../metrics/pushgateway.ts");
  const log = logger("metrics");
  const metrics = collectRunMetrics({ ...facts, dataDir: config.dataDir });
  const outcome = await pushMetrics(config.pushgatewayUrl, metrics);
  if (outcome.pushed) log.info(`metrics pushed: ${outcome.groups.join(", ")}`);
  else if (outcome.reason === "no-url") log.info("PUSHGATEWAY_URL is not set: metrics not pushed");
  else log.error(`broker-sync: ${outcome.error.message}`);
  return outcome;
}
