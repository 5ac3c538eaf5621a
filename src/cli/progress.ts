/**
 * The progress bar of a windowed backfill or a long fetch: on a terminal only. Piped output, a
 * CronJob's log and `--json` get no bar (the log lines say the same, one per window).
 */
import cliProgress from "cli-progress";

/** What the use case reports as it goes. */
export interface WindowProgress {
  /** Whether a bar is shown (then per-window log lines would only break it up). */
  readonly visible: boolean;
  start(total: number): void;
  advance(label: string): void;
  stop(): void;
}

const SILENT: WindowProgress = {
  visible: false,
  start() {},
  advance() {},
  stop() {},
};

/** A bar on stderr when it is a terminal and output is for humans; otherwise nothing. */
export function windowProgress(options: { json: boolean; terminal?: boolean }): WindowProgress {
  const terminal = options.terminal ?? Deno.stderr.isTerminal();
  if (options.json || !terminal) return SILENT;
  const bar = new cliProgress.SingleBar({
    format: "windows {bar} {value}/{total} {label}",
    hideCursor: true,
    clearOnComplete: false,
  }, cliProgress.Presets.shades_classic);
  let started = false;
  return {
    visible: true,
    start(total) {
      if (total === 0) return;
      bar.start(total, 0, { label: "" });
      started = true;
    },
    advance(label) {
      if (started) bar.increment(1, { label });
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
