/**
 * Logs go to stderr (stdout is for results and `--json`), as text or JSON lines. Every line passes
 * through the secret filter first, so a token that reaches a log message is still never printed.
 */
import {
  configureSync,
  getJsonLinesFormatter,
  getLogger,
  getTextFormatter,
  type LogRecord,
  resetSync,
} from "@logtape/logtape";
import { redactSecrets } from "./secrets.ts";

export type LogFormat = "text" | "json";

const encoder = new TextEncoder();

/** Configures logging for this process; safe to call again (tests run the CLI in-process). */
export function configureLogging(format: LogFormat, verbose: boolean): void {
  const formatter = format === "json" ? getJsonLinesFormatter() : getTextFormatter();
  resetSync();
  configureSync({
    reset: true,
    sinks: {
      stderr: (record: LogRecord) => {
        Deno.stderr.writeSync(encoder.encode(redactSecrets(formatter(record))));
      },
    },
    loggers: [
      { category: ["broker-sync"], sinks: ["stderr"], lowestLevel: verbose ? "debug" : "info" },
      { category: ["logtape", "meta"], sinks: ["stderr"], lowestLevel: "warning" },
    ],
  });
}

/** The logger of one part of the program, e.g. `logger("backfill")`. */
export function logger(part: string) {
  return getLogger(["broker-sync", part]);
}
