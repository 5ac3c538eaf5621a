/**
 * `deno task demo`: the nightly job, `broker-sync sync`, end to end on the bundled sample data,
 * offline. In this process it starts the loopback stand-ins of IBKR's Flex Web Service (answering
 * with fixtures/U1234567-2025.xml) and of Wealthfolio, and a Prometheus Pushgateway when its
 * binary is installed; then it runs the real CLI as a subprocess with the binary's own permission
 * flags and only the environment a CronJob would give it:
 *
 * 1. `sync`: fetch → import → reconcile. The sample holds a "Fees Rebate" row broker-sync does not
 *    map (skipped, for an operator to review), so IBKR's GBP cash is 0.5 more than Wealthfolio's:
 *    the reconciliation reports exactly that drift and the run exits 30.
 * 2. The operator books the rebate in Wealthfolio by hand, as the runbook says for skipped rows.
 * 3. `sync` again: nothing new to fetch or push, zero drift, exit 0.
 * 4. `status`, and what the Pushgateway now holds.
 *
 * The demo exits 0 when every run ended as described; anything else is a failure.
 */
import { ENTRY_POINT, PERMISSION_FLAGS } from "./permissions.ts";
import { startFlexStandIn } from "../tests/standins/flex_service.ts";
import { startWealthfolioStandIn } from "../tests/standins/wealthfolio.ts";
import { type Pushgateway, startPushgateway } from "../tests/support/pushgateway.ts";
import { wealthfolioCall, wealthfolioLogin } from "../tests/support/wealthfolio_seed.ts";

const FIXTURE = new URL("../fixtures/U1234567-2025.xml", import.meta.url).pathname;
const ACCOUNT = "U1234567";
const TOKEN = "demo-flex-token-0000000000";
const QUERY = "987654";
const PASSWORD = "demo-wealthfolio-password";
/** The period the bundled statement covers. */
const PERIOD = ["--from", "2025-01-02", "--to", "2025-06-30"];

const dataDir = await Deno.makeTempDir({ prefix: "broker-sync-demo-" });
const statement = await Deno.readFile(FIXTURE);
const flex = await startFlexStandIn({ token: TOKEN, queryId: QUERY });
flex.setStatement(() => statement);
const wf = await startWealthfolioStandIn({ password: PASSWORD });
const pushgateway = await optionalPushgateway();

const account = wf.addAccount({
  name: "IBKR GIA",
  currency: "GBP",
  trackingMode: "TRANSACTIONS",
});
const env: Record<string, string> = {
  IBKR_FLEX_TOKEN: TOKEN,
  IBKR_FLEX_QUERY_ID: QUERY,
  IBKR_FLEX_BASE_URL: flex.baseUrl,
  IBKR_FLEX_POLL_SECONDS: "0",
  IBKR_FLEX_TOKEN_EXPIRES: inDays(180),
  IBKR_ACCOUNT_ID_UPSTREAM: ACCOUNT,
  IBKR_ACCOUNTS: `${ACCOUNT}=${account.id}`,
  WF_BASE_URL: wf.baseUrl,
  WF_PASSWORD: PASSWORD,
  ...(pushgateway ? { PUSHGATEWAY_URL: pushgateway.url } : {}),
};

let failed = false;
try {
  console.log(
    `IBKR Flex Web Service stand-in: ${flex.baseUrl} (answers with fixtures/U1234567-2025.xml)`,
  );
  console.log(`Wealthfolio stand-in: ${wf.baseUrl}, account "${account.name}" ${account.id}`);
  console.log(`journal: ${dataDir}`);

  await step(
    "the nightly job on the sample statement",
    ["sync", ...PERIOD],
    30,
    'exit 30 is the drift above: the sample\'s "Fees Rebate" (0.5 GBP) is a cash type broker-sync ' +
      "does not map, so it was skipped for review (status lists it) and Wealthfolio lacks it.",
  );

  console.log("\n# The operator books the skipped rebate in Wealthfolio by hand.");
  const session = await wealthfolioLogin(wf.baseUrl, PASSWORD);
  await wealthfolioCall(wf.baseUrl, session, "POST", "/activities", {
    accountId: account.id,
    activityType: "CREDIT",
    subtype: "REBATE",
    activityDate: "2025-06-10T20:20:00Z",
    amount: "0.5",
    currency: "GBP",
    notes: "Fees Rebate, booked by hand",
  });

  await step(
    "the next night: nothing new, and the books agree",
    ["sync", ...PERIOD],
    0,
    "exit 0: every step did its work and nothing drifts.",
  );
  await step("what the journal says", ["status"], 0);
  await showMetrics(pushgateway);
} catch (error) {
  failed = true;
  console.error(`demo failed: ${(error as Error).message}`);
} finally {
  await pushgateway?.stop();
  await wf.close();
  await flex.close();
  if (Deno.env.get("KEEP_DEMO_JOURNAL")) console.log(`\njournal kept in ${dataDir}`);
  else await Deno.remove(dataDir, { recursive: true });
}
if (failed) Deno.exit(1);

/** Runs the CLI with a cleared environment; throws when it does not exit as expected. */
async function step(title: string, args: string[], expected: number, why?: string) {
  console.log(`\n$ broker-sync ${args.join(" ")}    # ${title}`);
  const inherited: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "DENO_DIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) inherited[name] = value;
  }
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSION_FLAGS, ENTRY_POINT, "--data-dir", dataDir, ...args],
    clearEnv: true,
    env: { ...inherited, ...env },
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== expected) throw new Error(`${args[0]} exited ${code}, expected ${expected}`);
  if (why) console.log(`# ${why}`);
}

/** A Pushgateway when `prometheus-pushgateway` is installed; otherwise null, said once. */
async function optionalPushgateway(): Promise<Pushgateway | null> {
  try {
    return await startPushgateway();
  } catch (error) {
    const missing = error instanceof Deno.errors.NotFound;
    console.log(
      missing
        ? "prometheus-pushgateway is not installed: the runs push no metrics (PUSHGATEWAY_URL unset)"
        : `no Pushgateway (${(error as Error).message}): the runs push no metrics`,
    );
    return null;
  }
}

async function showMetrics(pushgateway: Pushgateway | null): Promise<void> {
  if (!pushgateway) return;
  console.log(`\n# What the Pushgateway (${pushgateway.url}) holds for broker-sync now:`);
  for (const s of await pushgateway.scrape()) {
    if (!s.name.startsWith("ibkr_")) continue;
    const labels = Object.entries(s.labels).filter(([k]) => k !== "instance")
      .map(([k, v]) => `${k}="${v}"`).join(",");
    console.log(`${s.name}{${labels}} ${s.value}`);
  }
}

function inDays(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}
