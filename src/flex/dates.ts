/**
 * IBKR Flex dates and date-times (contract `ibkr-flex.md` §3).
 *
 * The user picks the formats in the Flex Query, so every documented format is
 * accepted; but a value that fits none of them throws instead of being guessed,
 * because a silently wrong date corrupts holdings in ways nobody notices.
 *
 * This runs ~200k times on a large statement: regexes and the Intl formatter
 * are built once at module load, and the Eastern offset is cached per hour.
 */

/** A calendar date "YYYY-MM-DD" (IBKR's business date, no zone). */
export type IsoDate = string;

/** Whether ambiguous slash dates are month-first (US) or day-first. */
export type DayOrder = "month-first" | "day-first";

/** A Flex date-time as written: local calendar date, optional wall-clock time, optional zone label. */
export interface FlexDateTime {
  readonly date: IsoDate;
  /** "HH:MM:SS", or null for a date-only value. */
  readonly time: string | null;
  /** e.g. "EDT", "AEST", "Z", "+05:30": as written, upper-cased; null when absent. */
  readonly zone: string | null;
}

/**
 * Thrown for a non-empty value that no supported format parses.
 *
 * @example
 * try { parseFlexDate("yesterday"); } catch (e) { (e as FlexDateError).value; } // "yesterday"
 */
export class FlexDateError extends Error {
  /** The raw value, untrimmed, so the caller can report exactly what the file said. */
  readonly value: string;

  constructor(value: string, message = `unrecognised date "${value}"`) {
    super(message);
    this.name = "FlexDateError";
    this.value = value;
  }
}

// ibflex `make_optional` plus the `MULTI` used by summary rows (contract §2).
const EMPTY_MARKERS: ReadonlySet<string> = new Set(["", "-", "--", "N/A", "MULTI"]);

// Groups: 1 yyyyMMdd | 2-4 yyyy-MM-dd | 5-7 slash (a/b/y) | 8-10 dd-MMM-yy.
const DATE_SRC = String.raw`(\d{8})|(\d{4})-(\d{2})-(\d{2})|(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})|` +
  String.raw`(\d{1,2})-([A-Za-z]{3})-(\d{2})`;
const DATE_RE = new RegExp(`^(?:${DATE_SRC})$`);
// Then: 11 separator, 12 time, 13 zone letters, 14 "Z", 15 numeric offset.
// A missing separator is matched here and re-checked in code, because it is only
// unambiguous for the 14-digit yyyyMMddHHmmss form.
const DATETIME_RE = new RegExp(
  `^(?:${DATE_SRC})(?:(;|, ?| |T|)(\\d{6}|\\d{4}|\\d{2}:\\d{2}:\\d{2}|\\d{2}:\\d{2})` +
    `(?: ([A-Za-z]{1,6})|(Z)| ?([+-]\\d{2}:?\\d{2}))?)?$`,
);
const SLASH_PREFIX_RE = /^\s*(\d{1,2})\/(\d{1,2})\/\d{2}/;
const OFFSET_RE = /^([+-])(\d{2}):?(\d{2})$/;

const MONTHS: ReadonlyMap<string, number> = new Map(
  ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"].map(
    (name, i) => [name, i + 1],
  ),
);

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/**
 * Offsets for the zone labels IBKR users are likely to configure. Ambiguous
 * abbreviations take their most common trading meaning: CST is US Central (not
 * China), IST is India (not Israel/Ireland).
 */
const ZONE_OFFSETS_MS: ReadonlyMap<string, number> = new Map(
  ([
    ["EST", -5 * 60],
    ["EDT", -4 * 60],
    ["CST", -6 * 60],
    ["CDT", -5 * 60],
    ["MST", -7 * 60],
    ["MDT", -6 * 60],
    ["PST", -8 * 60],
    ["PDT", -7 * 60],
    ["GMT", 0],
    ["UTC", 0],
    ["Z", 0],
    ["BST", 60],
    ["CET", 60],
    ["CEST", 2 * 60],
    ["EET", 2 * 60],
    ["EEST", 3 * 60],
    ["HKT", 8 * 60],
    ["SGT", 8 * 60],
    ["JST", 9 * 60],
    ["KST", 9 * 60],
    ["IST", 5 * 60 + 30],
    ["AEST", 10 * 60],
    ["AEDT", 11 * 60],
    ["ACST", 9 * 60 + 30],
    ["AWST", 8 * 60],
    ["NZST", 12 * 60],
    ["NZDT", 13 * 60],
  ] as const).map(([zone, minutes]) => [zone, minutes * MINUTE_MS]),
);

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeap(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

// Year 0 does not exist in the calendar IBKR uses, and Intl would render it as 1 BC.
function isCalendarDate(year: number, month: number, day: number): boolean {
  return year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

/** Days since 1970-01-01 (Hinnant's days_from_civil); avoids Date.UTC's 0–99 → 19xx quirk. */
function epochDay(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

function pad4(n: number): string {
  return n < 10 ? `000${n}` : n < 100 ? `00${n}` : n < 1000 ? `0${n}` : `${n}`;
}

function isoOf(year: number, month: number, day: number): IsoDate {
  return `${pad4(year)}-${pad2(month)}-${pad2(day)}`;
}

/** Reads `len` ASCII digits at `start`, or -1 if any is not a digit. */
function digitsAt(s: string, start: number, len: number): number {
  let n = 0;
  for (let i = start; i < start + len; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

function checkedIso(raw: string, year: number, month: number, day: number): IsoDate {
  if (!isCalendarDate(year, month, day)) {
    throw new FlexDateError(raw, `unrecognised date "${raw}": not a calendar date`);
  }
  return isoOf(year, month, day);
}

/** Turns the date groups of DATE_RE/DATETIME_RE into an IsoDate, or throws. */
function dateFromGroups(raw: string, m: RegExpExecArray, order: DayOrder): IsoDate {
  if (m[1] !== undefined) {
    const s = m[1];
    return checkedIso(raw, digitsAt(s, 0, 4), digitsAt(s, 4, 2), digitsAt(s, 6, 2));
  }
  if (m[2] !== undefined) return checkedIso(raw, Number(m[2]), Number(m[3]), Number(m[4]));
  if (m[5] !== undefined) {
    const a = Number(m[5]);
    const b = Number(m[6]);
    const y = m[7].length === 2 ? 2000 + Number(m[7]) : Number(m[7]);
    const [month, day] = order === "month-first" ? [a, b] : [b, a];
    if (isCalendarDate(y, month, day)) return isoOf(y, month, day);
    // Flipping would usually "work" and silently swap day and month for every
    // other row in the file, so refuse and tell the user how to fix the query.
    if (isCalendarDate(y, day, month)) {
      const other = order === "month-first" ? "day-first" : "month-first";
      throw new FlexDateError(
        raw,
        `ambiguous day order in date "${raw}": impossible as ${order} but valid as ${other}; ` +
          `pass order "${other}" (see detectDayOrder), or better, set the Flex Query date format ` +
          `to yyyyMMdd`,
      );
    }
    return checkedIso(raw, y, month, day);
  }
  const month = MONTHS.get(m[9].toLowerCase());
  if (month === undefined) throw new FlexDateError(raw);
  return checkedIso(raw, 2000 + Number(m[10]), month, Number(m[8]));
}

/**
 * Parses a Flex date-only attribute (`tradeDate`, `reportDate`, …) into an IsoDate.
 * Two-digit years are 20yy. A date-time is rejected here on purpose: it means the
 * caller is reading the wrong attribute. Empty markers give null.
 *
 * @example
 * parseFlexDate("05/22/2025"); // "2025-05-22"
 */
export function parseFlexDate(value: string, order: DayOrder = "month-first"): IsoDate | null {
  const v = value.trim();
  // Fast path for the default yyyyMMdd, by far the most common value.
  if (v.length === 8) {
    const y = digitsAt(v, 0, 4);
    const mo = digitsAt(v, 4, 2);
    const d = digitsAt(v, 6, 2);
    if (y >= 0 && mo >= 0 && d >= 0) return checkedIso(value, y, mo, d);
  }
  if (EMPTY_MARKERS.has(v)) return null;
  const m = DATE_RE.exec(v);
  if (m === null) throw new FlexDateError(value);
  return dateFromGroups(value, m, order);
}

// ±hh:mm up to ±23:59: beyond any real zone, but not ours to second-guess.
function validOffset(offset: string): boolean {
  const m = OFFSET_RE.exec(offset);
  return m !== null && Number(m[2]) <= 23 && Number(m[3]) <= 59;
}

function clock(raw: string, h: number, mi: number, s: number): string {
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) {
    throw new FlexDateError(raw, `unrecognised date-time "${raw}": not a valid time of day`);
  }
  return `${pad2(h)}:${pad2(mi)}:${pad2(s)}`;
}

/**
 * Parses a Flex date-time (`dateTime`, `whenGenerated`, …) keeping the local
 * calendar date as written: converting to UTC here would move 20:20 ET dividends
 * to the next day. A date-only value is accepted (time null). Empty markers give null.
 *
 * @example
 * parseFlexDateTime("20250522;204157 EDT"); // { date: "2025-05-22", time: "20:41:57", zone: "EDT" }
 */
export function parseFlexDateTime(
  value: string,
  order: DayOrder = "month-first",
): FlexDateTime | null {
  const v = value.trim();
  // Fast path for IBKR's default yyyyMMdd;HHmmss.
  if (v.length === 15 && v.charCodeAt(8) === 59 /* ; */) {
    const y = digitsAt(v, 0, 4);
    const mo = digitsAt(v, 4, 2);
    const d = digitsAt(v, 6, 2);
    const h = digitsAt(v, 9, 2);
    const mi = digitsAt(v, 11, 2);
    const s = digitsAt(v, 13, 2);
    if (y >= 0 && mo >= 0 && d >= 0 && h >= 0 && mi >= 0 && s >= 0) {
      return { date: checkedIso(value, y, mo, d), time: clock(value, h, mi, s), zone: null };
    }
  }
  if (EMPTY_MARKERS.has(v)) return null;
  const m = DATETIME_RE.exec(v);
  if (m === null) throw new FlexDateError(value, `unrecognised date-time "${value}"`);
  const t = m[12];
  if (m[11] === "" && (m[1] === undefined || t.length !== 6)) {
    throw new FlexDateError(
      value,
      `unrecognised date-time "${value}": a date and time without a separator is only ` +
        `accepted as yyyyMMddHHmmss`,
    );
  }
  const date = dateFromGroups(value, m, order);
  if (t === undefined) return { date, time: null, zone: null };
  const compact = t.charCodeAt(2) !== 58; /* : */
  const h = digitsAt(t, 0, 2);
  const mi = digitsAt(t, compact ? 2 : 3, 2);
  const s = t.length === 6 ? digitsAt(t, 4, 2) : t.length === 8 ? digitsAt(t, 6, 2) : 0;
  const offset = m[15];
  if (offset !== undefined && !validOffset(offset)) {
    throw new FlexDateError(value, `unrecognised date-time "${value}": bad zone offset`);
  }
  const zone = m[13]?.toUpperCase() ?? m[14] ?? offset ?? null;
  return { date, time: clock(value, h, mi, s), zone };
}

/**
 * Decides the day order of a file's slash dates (contract §3: one value cannot
 * tell dd/MM from MM/dd, but any field above 12 can). Non-slash values are
 * ignored. Returns null when nothing is decisive, and also when the values
 * contradict each other: the default order will then reject the odd ones with
 * an explicit error instead of this function picking a side.
 *
 * @example
 * detectDayOrder(["05/06/2025", "22/05/2025;101500"]); // "day-first"
 */
export function detectDayOrder(values: Iterable<string>): DayOrder | null {
  let dayFirst = false;
  let monthFirst = false;
  for (const value of values) {
    const m = SLASH_PREFIX_RE.exec(value);
    if (m === null) continue;
    if (Number(m[1]) > 12) dayFirst = true;
    if (Number(m[2]) > 12) monthFirst = true;
  }
  if (dayFirst === monthFirst) return null;
  return dayFirst ? "day-first" : "month-first";
}

const NEW_YORK = new Intl.DateTimeFormat("en-US", {
  timeZone: "America/New_York",
  hourCycle: "h23",
  year: "numeric",
  month: "numeric",
  day: "numeric",
  hour: "numeric",
  minute: "numeric",
  second: "numeric",
});

/** The New York offset (local − UTC, in ms) in force at a UTC instant. */
function newYorkOffsetAt(utcMs: number): number {
  let y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  for (const part of NEW_YORK.formatToParts(utcMs)) {
    const n = Number(part.value);
    switch (part.type) {
      case "year":
        y = n;
        break;
      case "month":
        mo = n;
        break;
      case "day":
        d = n;
        break;
      case "hour":
        h = n;
        break;
      case "minute":
        mi = n;
        break;
      case "second":
        s = n;
        break;
    }
  }
  const local = epochDay(y, mo, d) * DAY_MS + h * HOUR_MS + mi * MINUTE_MS + s * SECOND_MS;
  return local - (utcMs - (((utcMs % SECOND_MS) + SECOND_MS) % SECOND_MS));
}

// New York changes offset on whole local hours, so the offset for a wall-clock
// time depends only on its (date, hour). Capped so a pathological input cannot grow it forever.
const easternCache = new Map<number, number>();
const EASTERN_CACHE_MAX = 200_000;

/**
 * The New York offset for a wall-clock time (given as if it were UTC ms).
 * DST edges follow the offset in force *before* the transition: in the repeated
 * November hour that is EDT (the earlier of the two instants); in the missing
 * March hour it is EST, so 02:30 becomes 03:30 EDT (like Temporal "compatible").
 */
function easternOffsetForWall(wallMs: number): number {
  const key = Math.floor(wallMs / HOUR_MS);
  const cached = easternCache.get(key);
  if (cached !== undefined) return cached;
  const before = newYorkOffsetAt(wallMs - DAY_MS);
  const after = newYorkOffsetAt(wallMs + DAY_MS);
  const beforeValid = newYorkOffsetAt(wallMs - before) === before;
  const afterValid = before === after ? beforeValid : newYorkOffsetAt(wallMs - after) === after;
  let offset: number;
  if (beforeValid && afterValid) offset = Math.max(before, after); // earlier instant
  else if (afterValid) offset = after;
  else offset = before; // valid-before, or the spring-forward gap
  if (easternCache.size >= EASTERN_CACHE_MAX) easternCache.clear();
  easternCache.set(key, offset);
  return offset;
}

/** Strict "YYYY-MM-DD" → epoch day, for IsoDates coming back from callers. */
function isoEpochDay(iso: string): number {
  const y = iso.length === 10 && iso.charCodeAt(4) === 45 && iso.charCodeAt(7) === 45
    ? digitsAt(iso, 0, 4)
    : -1;
  const mo = y >= 0 ? digitsAt(iso, 5, 2) : -1;
  const d = mo >= 0 ? digitsAt(iso, 8, 2) : -1;
  if (d < 0 || !isCalendarDate(y, mo, d)) {
    throw new FlexDateError(iso, `unrecognised date "${iso}": expected a calendar date YYYY-MM-DD`);
  }
  return epochDay(y, mo, d);
}

function zoneOffsetForWall(zone: string | null, wallMs: number): number {
  if (zone === null) return easternOffsetForWall(wallMs);
  const known = ZONE_OFFSETS_MS.get(zone);
  if (known !== undefined) return known;
  const c = zone.charCodeAt(0);
  if (c === 43 /* + */ || c === 45 /* - */) {
    if (!validOffset(zone)) throw new FlexDateError(zone, `unrecognised zone offset "${zone}"`);
    const h = digitsAt(zone, 1, 2);
    const mi = digitsAt(zone, zone.length - 2, 2);
    return (c === 45 ? -1 : 1) * (h * HOUR_MS + mi * MINUTE_MS);
  }
  // An unknown label is most likely a US/Eastern variant (IBKR's default zone),
  // and the business date, which is what downstream keys on, does not depend on it.
  return easternOffsetForWall(wallMs);
}

function instantMs(dt: FlexDateTime): number {
  let wall = isoEpochDay(dt.date) * DAY_MS;
  if (dt.time !== null) {
    const t = dt.time;
    const h = t.length === 8 && t.charCodeAt(2) === 58 && t.charCodeAt(5) === 58
      ? digitsAt(t, 0, 2)
      : -1;
    const mi = h >= 0 ? digitsAt(t, 3, 2) : -1;
    const s = mi >= 0 ? digitsAt(t, 6, 2) : -1;
    if (s < 0 || h > 23 || mi > 59 || s > 59) {
      throw new FlexDateError(t, `unrecognised time "${t}": expected HH:MM:SS`);
    }
    wall += h * HOUR_MS + mi * MINUTE_MS + s * SECOND_MS;
  }
  return wall - zoneOffsetForWall(dt.zone, wall);
}

/**
 * The UTC instant of a Flex date-time. The zone label wins when known (or a
 * numeric offset); otherwise US/Eastern, IBKR's default, with DST from Intl.
 * A date-only value is local midnight in that zone.
 *
 * @example
 * instantOf({ date: "2025-01-15", time: "09:30:00", zone: null }); // 2025-01-15T14:30:00.000Z
 */
export function instantOf(dt: FlexDateTime): Date {
  return new Date(instantMs(dt));
}

/**
 * The RFC3339 timestamp sent to Wealthfolio, whose UTC calendar date is always
 * `businessDate`. Wealthfolio shows the UTC day, so a dividend stamped 20:20 ET
 * (01:20 UTC the next day) would otherwise move a day, and an AEST morning would
 * move back one. The true instant is clamped into [00:00:00Z, 23:59:59Z] of the
 * business date, which keeps intra-day order wherever the instant allows it.
 *
 * @example
 * activityTimestamp("2025-05-15", parseFlexDateTime("2025-05-15;202000")); // "2025-05-15T23:59:59Z"
 */
export function activityTimestamp(businessDate: IsoDate, dt: FlexDateTime | null): string {
  const lo = isoEpochDay(businessDate) * DAY_MS;
  if (dt === null || dt.time === null) return `${businessDate}T00:00:00Z`;
  const ms = Math.min(Math.max(instantMs(dt), lo), lo + DAY_MS - SECOND_MS);
  const secs = Math.floor((ms - lo) / SECOND_MS);
  const h = Math.floor(secs / 3600);
  const mi = Math.floor((secs % 3600) / 60);
  return `${businessDate}T${pad2(h)}:${pad2(mi)}:${pad2(secs % 60)}Z`;
}
