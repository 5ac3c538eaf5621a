/**
 * Pushes run metrics to a Prometheus Pushgateway with PUT, which replaces the whole group (job +
 * account). POST would replace only the metric families sent, so a drift series of a position
 * since closed or fixed would stay forever (seeds README). A failed push is reported, never
 * retried into the next run, and never undoes what the run did.
 */
import { metricsGroups } from "./registry.ts";
import type { RunMetrics } from "./run_metrics.ts";

/** A group could not be pushed. */
export class MetricsPushError extends Error {
  constructor(readonly url: string, detail: string) {
    super(
      `Pushgateway PUT ${url}: ${detail}; the run's results stand, only its metrics are missing`,
    );
    this.name = "MetricsPushError";
  }
}

/** What became of the metrics. */
export type PushOutcome =
  | { readonly pushed: false; readonly reason: "no-url" }
  | { readonly pushed: true; readonly groups: readonly string[] }
  | { readonly pushed: false; readonly reason: "failed"; readonly error: MetricsPushError };

/**
 * Pushes every group of the run; `url` null means no Pushgateway is configured. Every group is
 * attempted even after one fails.
 *
 * @example await pushMetrics("http://pushgateway:9091", run) // PUT …/metrics/job/broker-sync-ibkr/account/U1234567
 */
export async function pushMetrics(
  url: string | null,
  run: RunMetrics,
  options: { timeoutMs?: number } = {},
): Promise<PushOutcome> {
  if (!url) return { pushed: false, reason: "no-url" };
  const pushed: string[] = [];
  let failure: MetricsPushError | null = null;
  for (const group of metricsGroups(run)) {
    const target = groupUrl(url, run.job, group.labels);
    const shown = withoutCredentials(target);
    try {
      const response = await fetch(shown, {
        method: "PUT",
        headers: {
          "content-type": group.registry.contentType,
          ...basicAuthorization(target),
        },
        body: await group.registry.metrics(),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      const text = await response.text();
      if (!response.ok) {
        failure ??= new MetricsPushError(
          shown,
          `HTTP ${response.status} ${text.trim().slice(0, 200).replaceAll(/\s+/g, " ")}`.trim(),
        );
        continue;
      }
      pushed.push(shown);
    } catch (e) {
      failure ??= new MetricsPushError(shown, `unreachable (${oneLine((e as Error).message)})`);
    }
  }
  return failure
    ? { pushed: false, reason: "failed", error: failure }
    : { pushed: true, groups: pushed };
}

/**
 * The URL of a group: `<base>/metrics/job/<job>/<label>/<value>…`. A base that already ends in
 * `/metrics` (the seed plan's form) is used as is. Values with a `/` or empty ones use the
 * Pushgateway's base64 form.
 */
export function groupUrl(
  base: string,
  job: string,
  labels: Readonly<Record<string, string>>,
): string {
  const root = base.replace(/\/+$/, "");
  const prefix = /\/metrics$/.test(root) ? root : `${root}/metrics`;
  const parts = [["job", job], ...Object.entries(labels)].map(([name, value]) =>
    value === "" || value.includes("/")
      ? `${name}@base64/${base64url(value) || "="}`
      : `${name}/${encodeURIComponent(value)}`
  );
  return `${prefix}/${parts.join("/")}`;
}

function base64url(value: string): string {
  const bytes = new TextEncoder().encode(value);
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
}

/** `http://user:pass@host` → the Basic authorization fetch will not derive from a URL itself. */
function basicAuthorization(url: string): Record<string, string> {
  const u = URL.parse(url);
  if (!u || (!u.username && !u.password)) return {};
  const pair = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
  return { authorization: `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(pair)))}` };
}

/** A Pushgateway behind basic auth has its password in the URL: never print it. */
function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return url.replace(/\/\/[^/@]*@/, "//");
  }
}

function oneLine(text: string): string {
  return text.replaceAll(/\s*\n\s*/g, " ").trim();
}
