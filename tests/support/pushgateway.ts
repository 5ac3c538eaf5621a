/**
 * A real Prometheus Pushgateway for tests: Debian's `prometheus-pushgateway` binary (installed by
 * .ci/run), started on a free loopback port with persistence off (the packaged default writes
 * /var/lib/prometheus/pushgateway.data), scraped over HTTP, stopped at the end.
 */

/** One sample of the exposition text. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Pushgateway {
  /** `http://127.0.0.1:<port>`, what PUSHGATEWAY_URL would be set to. */
  readonly url: string;
  /** Every sample `/metrics` exposes (the gateway's own go_/process_ metrics included). */
  scrape(): Promise<Sample[]>;
  stop(): Promise<void>;
}

const BINARY = "prometheus-pushgateway";

/** Starts a Pushgateway and waits until `/-/ready` answers. */
export async function startPushgateway(): Promise<Pushgateway> {
  let lastError: unknown;
  // A port found free can be taken before the gateway binds it; try a few.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = freePort();
    const child = new Deno.Command(BINARY, {
      args: [
        `--web.listen-address=127.0.0.1:${port}`,
        "--persistence.file=",
        "--log.level=warn",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitReady(url, child);
      return {
        url,
        scrape: async () => parseExposition(await (await fetch(`${url}/metrics`)).text()),
        stop: async () => {
          child.kill("SIGTERM");
          await child.status;
          await stderr;
        },
      };
    } catch (e) {
      lastError = new Error(
        `${BINARY} did not start: ${(e as Error).message}\n${await stop(child, stderr)}`,
      );
    }
  }
  throw lastError;
}

async function stop(child: Deno.ChildProcess, stderr: Promise<string>): Promise<string> {
  try {
    child.kill("SIGTERM");
  } catch {
    // Already exited.
  }
  await child.status;
  return await stderr;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function waitReady(url: string, child: Deno.ChildProcess): Promise<void> {
  let exited = false;
  child.status.then(() => (exited = true));
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error("the process exited");
    try {
      const response = await fetch(`${url}/-/ready`);
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("not ready within 15 s");
}

/** Parses Prometheus text exposition (0.0.4): sample lines, label values unescaped. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[3] ?? "";
    const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
    for (const l of body.matchAll(label)) {
      labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
    }
    samples.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return samples;
}

/** The samples of one metric name whose labels include `match`. */
export function samplesOf(
  samples: readonly Sample[],
  name: string,
  match: Readonly<Record<string, string>> = {},
): Sample[] {
  return samples.filter((s) =>
    s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)
  );
}
