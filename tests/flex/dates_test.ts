import assert from "node:assert/strict";
import fc from "fast-check";
import {
  activityTimestamp,
  detectDayOrder,
  FlexDateError,
  type FlexDateTime,
  instantOf,
  parseFlexDate,
  parseFlexDateTime,
} from "../../src/flex/dates.ts";

function dt(date: string, time: string | null = null, zone: string | null = null): FlexDateTime {
  return { date, time, zone };
}

function assertFlexDateError(fn: () => unknown, value: string, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FlexDateError, `expected FlexDateError, got ${e}`);
    assert.equal(e.value, value);
    assert.equal(e.name, "FlexDateError");
    if (message !== undefined) assert.match(e.message, message);
    return true;
  });
}

// ---- parseFlexDate -------------------------------------------------------

Deno.test("parses every supported date format", () => {
  assert.equal(parseFlexDate("20250312"), "2025-03-12");
  assert.equal(parseFlexDate("2025-03-12"), "2025-03-12");
  assert.equal(parseFlexDate("03/12/2025"), "2025-03-12");
  assert.equal(parseFlexDate("03/12/25"), "2025-03-12");
  assert.equal(parseFlexDate("12/03/2025", "day-first"), "2025-03-12");
  assert.equal(parseFlexDate("12/03/25", "day-first"), "2025-03-12");
  assert.equal(parseFlexDate("05-Jan-25"), "2025-01-05");
  assert.equal(parseFlexDate("05-JAN-25"), "2025-01-05");
  assert.equal(parseFlexDate("31-dec-99"), "2099-12-31");
});

Deno.test("slash dates default to month-first", () => {
  assert.equal(parseFlexDate("05/06/2025"), "2025-05-06");
  assert.equal(parseFlexDate("05/06/2025", "day-first"), "2025-06-05");
});

Deno.test("two-digit years are 20yy", () => {
  assert.equal(parseFlexDate("01/02/00"), "2000-01-02");
  assert.equal(parseFlexDate("12/31/99"), "2099-12-31");
});

Deno.test("trims surrounding whitespace", () => {
  assert.equal(parseFlexDate("  20250312 "), "2025-03-12");
});

Deno.test("accepts leap days only in leap years", () => {
  assert.equal(parseFlexDate("20240229"), "2024-02-29");
  assert.equal(parseFlexDate("2000-02-29"), "2000-02-29");
  assertFlexDateError(() => parseFlexDate("20250229"), "20250229");
  assertFlexDateError(() => parseFlexDate("1900-02-29"), "1900-02-29");
});

Deno.test("empty markers parse to null", () => {
  for (const v of ["", "-", "--", "N/A", "MULTI", "  ", " MULTI "]) {
    assert.equal(parseFlexDate(v), null, JSON.stringify(v));
    assert.equal(parseFlexDateTime(v), null, JSON.stringify(v));
  }
});

Deno.test("rejects garbage and impossible dates with the raw value attached", () => {
  for (
    const v of [
      "2025-13-01",
      "0.0 ()",
      "yesterday",
      "20250230",
      "20251301",
      "2025-00-10",
      "00000101",
      "2025/03/12",
      "12-Foo-25",
      "05-Jan-2025",
      "13/13/2025",
      "2025-3-12",
      "n/a",
    ]
  ) {
    assertFlexDateError(() => parseFlexDate(v), v, /unrecognised date/);
  }
  assertFlexDateError(() => parseFlexDate("2025-13-01"), "2025-13-01", /"2025-13-01"/);
});

Deno.test("date-only parser rejects date-times", () => {
  assertFlexDateError(() => parseFlexDate("20250312;093512"), "20250312;093512");
});

Deno.test("refuses to flip a slash date that only fits the other day order", () => {
  assertFlexDateError(
    () => parseFlexDate("22/05/2025"),
    "22/05/2025",
    /ambiguous.*day-first.*yyyyMMdd/s,
  );
  assertFlexDateError(
    () => parseFlexDate("05/22/2025", "day-first"),
    "05/22/2025",
    /ambiguous.*month-first.*yyyyMMdd/s,
  );
  assertFlexDateError(
    () => parseFlexDateTime("22/05/2025;101500"),
    "22/05/2025;101500",
    /ambiguous/,
  );
  // Wrong in both orders is plain garbage, not an ordering problem.
  assertFlexDateError(() => parseFlexDate("31/31/2025"), "31/31/2025", /not a calendar date/);
});

// ---- parseFlexDateTime ---------------------------------------------------

Deno.test("parses every real value seen in IBKR files", () => {
  const cases: [string, FlexDateTime][] = [
    ["20221202;062611", dt("2022-12-02", "06:26:11")],
    ["2025-12-15;095038", dt("2025-12-15", "09:50:38")],
    ["2026-02-21;13:31:36", dt("2026-02-21", "13:31:36")],
    ["2026-07-01", dt("2026-07-01")],
    ["2026-08-03;083912", dt("2026-08-03", "08:39:12")],
    ["20260419 144528", dt("2026-04-19", "14:45:28")],
    ["2013-03-05, 19:45:00", dt("2013-03-05", "19:45:00")],
    ["20250522;204157 EDT", dt("2025-05-22", "20:41:57", "EDT")],
    ["2025-05-22 20:41:57 AEST", dt("2025-05-22", "20:41:57", "AEST")],
    ["20250312", dt("2025-03-12")],
    ["2025-03-15;15:30:00", dt("2025-03-15", "15:30:00")],
  ];
  for (const [value, expected] of cases) {
    assert.deepEqual(parseFlexDateTime(value), expected, value);
  }
});

Deno.test("parses yyyyMMdd;HHmmss with a zone suffix", () => {
  assert.deepEqual(parseFlexDateTime("20250522;204157 EDT"), dt("2025-05-22", "20:41:57", "EDT"));
  assert.deepEqual(parseFlexDateTime("20250522;204157 aest"), dt("2025-05-22", "20:41:57", "AEST"));
});

Deno.test("accepts every separator between date and time", () => {
  const expected = dt("2025-03-12", "09:35:12");
  for (
    const v of [
      "20250312;093512",
      "20250312,093512",
      "20250312, 093512",
      "20250312 093512",
      "20250312T093512",
      "20250312093512",
      "2025-03-12;09:35:12",
      "2025-03-12,09:35:12",
      "2025-03-12, 09:35:12",
      "2025-03-12 09:35:12",
      "2025-03-12T09:35:12",
      "03/12/2025;093512",
      "03/12/25 09:35:12",
      "12-Mar-25;093512",
      "12-Mar-25, 09:35:12",
    ]
  ) {
    assert.deepEqual(parseFlexDateTime(v), expected, v);
  }
  assert.deepEqual(parseFlexDateTime("12/03/2025;093512", "day-first"), expected);
});

Deno.test("accepts hour-minute times with zero seconds", () => {
  assert.deepEqual(parseFlexDateTime("20250312;0935"), dt("2025-03-12", "09:35:00"));
  assert.deepEqual(parseFlexDateTime("2025-03-12 09:35"), dt("2025-03-12", "09:35:00"));
  assert.deepEqual(parseFlexDateTime("2025-03-12 09:35 EST"), dt("2025-03-12", "09:35:00", "EST"));
});

Deno.test("accepts Z and numeric offsets as written", () => {
  assert.deepEqual(parseFlexDateTime("2025-03-12T09:35:12Z"), dt("2025-03-12", "09:35:12", "Z"));
  assert.deepEqual(
    parseFlexDateTime("2025-03-12T09:35:12+05:30"),
    dt("2025-03-12", "09:35:12", "+05:30"),
  );
  assert.deepEqual(
    parseFlexDateTime("20250312;093512-0400"),
    dt("2025-03-12", "09:35:12", "-0400"),
  );
  assert.deepEqual(
    parseFlexDateTime("20250312;093512 +0100"),
    dt("2025-03-12", "09:35:12", "+0100"),
  );
});

Deno.test("a missing separator is only accepted for 14 digits", () => {
  for (const v of ["202503120935", "2025-03-12093512", "03/12/2025093512", "12-Mar-25093512"]) {
    assertFlexDateError(() => parseFlexDateTime(v), v);
  }
});

Deno.test("rejects garbage date-times with the raw value attached", () => {
  for (
    const v of [
      "yesterday",
      "0.0 ()",
      "2025-13-01",
      "2025-13-01;093512",
      "20250230;093512",
      "20250312;253512",
      "20250312;096012",
      "20250312;093560",
      "20250312;24:00:00",
      "20250312;09:3512",
      "20250312;093512EDT",
      "20250312;093512 EDT extra",
      "20250312 EDT",
      "20250312;;093512",
      "20250312  093512",
      "20250312;093512.5",
      "2025-03-12T09:35:12.000Z",
      "20250312;093512+2500",
    ]
  ) {
    assertFlexDateError(() => parseFlexDateTime(v), v);
  }
});

// ---- detectDayOrder ------------------------------------------------------

Deno.test("detects day-first from a first field above 12", () => {
  assert.equal(detectDayOrder(["05/06/2025", "22/05/2025;101500", "20250101"]), "day-first");
});

Deno.test("detects month-first from a second field above 12", () => {
  assert.equal(detectDayOrder(["05/06/25", "05/22/25 10:15:00"]), "month-first");
});

Deno.test("day order is undecided when no slash value is decisive", () => {
  assert.equal(detectDayOrder([]), null);
  assert.equal(detectDayOrder(["05/06/2025", "12/12/2025"]), null);
  assert.equal(detectDayOrder(["20251322", "2025-12-31", "31-Dec-25", "MULTI", ""]), null);
});

Deno.test("day order is undecided when the values contradict each other", () => {
  assert.equal(detectDayOrder(["22/05/2025", "05/22/2025"]), null);
});

Deno.test("detectDayOrder accepts any iterable, including a generator", () => {
  function* values() {
    yield "01/01/2025";
    yield "13/01/2025";
  }
  assert.equal(detectDayOrder(values()), "day-first");
});

// ---- instantOf -----------------------------------------------------------

Deno.test("an unzoned summer time is read as EDT", () => {
  assert.equal(instantOf(dt("2025-07-15", "09:30:00")).toISOString(), "2025-07-15T13:30:00.000Z");
});

Deno.test("an unzoned winter time is read as EST", () => {
  assert.equal(instantOf(dt("2025-01-15", "09:30:00")).toISOString(), "2025-01-15T14:30:00.000Z");
});

Deno.test("explicit EDT and EST labels give the right UTC instant", () => {
  assert.equal(
    instantOf(parseFlexDateTime("20250715;093000 EDT")!).toISOString(),
    "2025-07-15T13:30:00.000Z",
  );
  assert.equal(
    instantOf(parseFlexDateTime("20250115;093000 EST")!).toISOString(),
    "2025-01-15T14:30:00.000Z",
  );
});

Deno.test("a zone label wins over the date's usual offset", () => {
  assert.equal(
    instantOf(parseFlexDateTime("2025-05-22 20:41:57 AEST")!).toISOString(),
    "2025-05-22T10:41:57.000Z",
  );
  assert.equal(
    instantOf(dt("2025-05-22", "12:00:00", "IST")).toISOString(),
    "2025-05-22T06:30:00.000Z",
  );
  assert.equal(
    instantOf(dt("2025-05-22", "12:00:00", "CET")).toISOString(),
    "2025-05-22T11:00:00.000Z",
  );
  assert.equal(
    instantOf(dt("2025-05-22", "12:00:00", "UTC")).toISOString(),
    "2025-05-22T12:00:00.000Z",
  );
  assert.equal(
    instantOf(dt("2025-05-22", "12:00:00", "Z")).toISOString(),
    "2025-05-22T12:00:00.000Z",
  );
});

Deno.test("numeric offsets are applied as written", () => {
  assert.equal(
    instantOf(dt("2025-05-22", "12:00:00", "+05:30")).toISOString(),
    "2025-05-22T06:30:00.000Z",
  );
  assert.equal(
    instantOf(dt("2025-05-22", "12:00:00", "-0400")).toISOString(),
    "2025-05-22T16:00:00.000Z",
  );
});

Deno.test("an unknown zone label falls back to US/Eastern", () => {
  assert.equal(
    instantOf(parseFlexDateTime("20250715;093000 XYZT")!).toISOString(),
    "2025-07-15T13:30:00.000Z",
  );
});

Deno.test("a date-only value is local midnight", () => {
  assert.equal(instantOf(dt("2025-07-15")).toISOString(), "2025-07-15T04:00:00.000Z");
  assert.equal(instantOf(dt("2025-01-15")).toISOString(), "2025-01-15T05:00:00.000Z");
  assert.equal(instantOf(dt("2025-07-15", null, "JST")).toISOString(), "2025-07-14T15:00:00.000Z");
});

Deno.test("the repeated November hour takes the earlier instant (EDT)", () => {
  // 2025-11-02 01:30 happens twice in New York: 05:30Z (EDT) and 06:30Z (EST).
  assert.equal(instantOf(dt("2025-11-02", "01:30:00")).toISOString(), "2025-11-02T05:30:00.000Z");
  assert.equal(instantOf(dt("2025-11-02", "00:59:59")).toISOString(), "2025-11-02T04:59:59.000Z");
  assert.equal(instantOf(dt("2025-11-02", "02:00:00")).toISOString(), "2025-11-02T07:00:00.000Z");
});

Deno.test("the missing March hour uses the pre-transition offset (EST)", () => {
  // 2025-03-09 02:30 never happens in New York; read as EST it is 03:30 EDT.
  assert.equal(instantOf(dt("2025-03-09", "02:30:00")).toISOString(), "2025-03-09T07:30:00.000Z");
  assert.equal(instantOf(dt("2025-03-09", "01:59:59")).toISOString(), "2025-03-09T06:59:59.000Z");
  assert.equal(instantOf(dt("2025-03-09", "03:00:00")).toISOString(), "2025-03-09T07:00:00.000Z");
});

Deno.test("DST rules follow history (pre-2007 April start)", () => {
  // Before 2007 DST began on the first Sunday of April, so mid-March was EST.
  assert.equal(instantOf(dt("2006-03-20", "12:00:00")).toISOString(), "2006-03-20T17:00:00.000Z");
  assert.equal(instantOf(dt("2025-03-20", "12:00:00")).toISOString(), "2025-03-20T16:00:00.000Z");
});

Deno.test("instantOf rejects malformed hand-built values", () => {
  assertFlexDateError(() => instantOf(dt("2025-02-30", "12:00:00")), "2025-02-30");
  assertFlexDateError(() => instantOf(dt("2025-02-10", "1200")), "1200");
  assertFlexDateError(() => instantOf(dt("2025-02-10", "12:00:00", "+99:00")), "+99:00");
});

// ---- activityTimestamp ---------------------------------------------------

Deno.test("an evening ET dividend stays on its business date", () => {
  const v = parseFlexDateTime("2025-05-15;202000");
  assert.equal(activityTimestamp("2025-05-15", v), "2025-05-15T23:59:59Z");
});

Deno.test("a daytime ET trade keeps its true UTC time", () => {
  const v = parseFlexDateTime("2025-03-12;093512");
  assert.equal(activityTimestamp("2025-03-12", v), "2025-03-12T13:35:12Z");
});

Deno.test("an AEST morning is clamped forward to midnight of its business date", () => {
  const v = parseFlexDateTime("2025-05-22;090000 AEST");
  assert.equal(activityTimestamp("2025-05-22", v), "2025-05-22T00:00:00Z");
});

Deno.test("date-only and missing date-times map to midnight Z", () => {
  assert.equal(
    activityTimestamp("2025-05-22", parseFlexDateTime("20250522")),
    "2025-05-22T00:00:00Z",
  );
  assert.equal(activityTimestamp("2025-05-22", null), "2025-05-22T00:00:00Z");
  assert.equal(activityTimestamp("2025-05-22", parseFlexDateTime("MULTI")), "2025-05-22T00:00:00Z");
});

Deno.test("clamping keeps intra-day order where the instant allows it", () => {
  const a = activityTimestamp("2025-03-12", parseFlexDateTime("20250312;093000"));
  const b = activityTimestamp("2025-03-12", parseFlexDateTime("20250312;160000"));
  assert.equal(a, "2025-03-12T13:30:00Z");
  assert.equal(b, "2025-03-12T20:00:00Z");
  assert.ok(a < b);
});

Deno.test("the business date wins over the date-time's own date", () => {
  // e.g. a correction whose reportDate is later than its dateTime.
  const v = parseFlexDateTime("20250312;093000");
  assert.equal(activityTimestamp("2025-03-14", v), "2025-03-14T00:00:00Z");
  assert.equal(activityTimestamp("2025-03-10", v), "2025-03-10T23:59:59Z");
});

Deno.test("activityTimestamp rejects a business date that is not YYYY-MM-DD", () => {
  assertFlexDateError(() => activityTimestamp("20250312", null), "20250312");
  assertFlexDateError(() => activityTimestamp("2025-02-30", null), "2025-02-30");
});

// ---- property ------------------------------------------------------------

const MONTH_NAMES = [
  "Jan",
  "Feb",
  "Mar",
  "Apr",
  "May",
  "Jun",
  "Jul",
  "Aug",
  "Sep",
  "Oct",
  "Nov",
  "Dec",
];
const p2 = (n: number) => String(n).padStart(2, "0");

const dateArb = fc
  .record({
    y: fc.integer({ min: 2000, max: 2099 }),
    m: fc.integer({ min: 1, max: 12 }),
    d: fc.integer({ min: 1, max: 31 }),
  })
  .filter(({ y, m, d }) => d <= new Date(Date.UTC(y, m, 0)).getUTCDate());

const zoneArb = fc.constantFrom(
  "",
  " EDT",
  " EST",
  " AEST",
  " aedt",
  " NZDT",
  " HKT",
  " IST",
  " XYZT",
  "Z",
  "+05:30",
  "-11:00",
  "+1400",
  " -0930",
);

Deno.test("property: activityTimestamp always lands on the parsed business date", () => {
  fc.assert(
    fc.property(
      dateArb,
      fc.record({
        h: fc.integer({ min: 0, max: 23 }),
        mi: fc.integer({ min: 0, max: 59 }),
        s: fc.integer({ min: 0, max: 59 }),
      }),
      fc.constantFrom(
        "yyyyMMdd",
        "yyyy-MM-dd",
        "MM/dd/yyyy",
        "MM/dd/yy",
        "dd/MM/yyyy",
        "dd/MM/yy",
        "dd-MMM-yy",
      ),
      fc.constantFrom("HHmmss", "HH:mm:ss", "HHmm", "HH:mm", "none"),
      fc.constantFrom(";", ",", ", ", " ", "T", ""),
      zoneArb,
      ({ y, m, d }, { h, mi, s }, dateFmt, timeFmt, sep, zone) => {
        const yy = p2(y % 100);
        const dateStr = {
          "yyyyMMdd": `${y}${p2(m)}${p2(d)}`,
          "yyyy-MM-dd": `${y}-${p2(m)}-${p2(d)}`,
          "MM/dd/yyyy": `${p2(m)}/${p2(d)}/${y}`,
          "MM/dd/yy": `${p2(m)}/${p2(d)}/${yy}`,
          "dd/MM/yyyy": `${p2(d)}/${p2(m)}/${y}`,
          "dd/MM/yy": `${p2(d)}/${p2(m)}/${yy}`,
          "dd-MMM-yy": `${p2(d)}-${MONTH_NAMES[m - 1]}-${yy}`,
        }[dateFmt];
        const timeStr = {
          "HHmmss": `${p2(h)}${p2(mi)}${p2(s)}`,
          "HH:mm:ss": `${p2(h)}:${p2(mi)}:${p2(s)}`,
          "HHmm": `${p2(h)}${p2(mi)}`,
          "HH:mm": `${p2(h)}:${p2(mi)}`,
          "none": "",
        }[timeFmt];
        // No separator is only defined for the 14-digit yyyyMMddHHmmss form.
        const usableSep = sep === "" && !(dateFmt === "yyyyMMdd" && timeFmt === "HHmmss")
          ? ";"
          : sep;
        const value = timeStr === "" ? dateStr : `${dateStr}${usableSep}${timeStr}${zone}`;
        const order = dateFmt.startsWith("dd/") ? "day-first" : "month-first";
        const iso = `${y}-${p2(m)}-${p2(d)}`;

        const parsed = parseFlexDateTime(value, order);
        assert.ok(parsed !== null);
        assert.equal(parsed.date, iso, value);
        const ts = activityTimestamp(iso, parsed);
        assert.ok(ts.startsWith(`${iso}T`), `${value} → ${ts}`);
        assert.match(ts, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
        assert.ok(!Number.isNaN(Date.parse(ts)));
      },
    ),
    { numRuns: 2000 },
  );
});
