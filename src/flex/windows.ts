/**
 * Statement windows: the `fd`/`td` ranges asked of the Flex Web Service. IBKR accepts at most 365
 * days per request (contract §1.5), and with v3 a request without an explicit window can silently
 * shrink to one day (§1.1), so every request carries one. Dates are calendar days, inclusive.
 */
import type { IsoDate } from "./dates.ts";

/** The most days one request may cover, counted inclusively (IBKR's limit). */
export const MAX_WINDOW_DAYS = 365;

/** An inclusive range of calendar days. */
export interface FlexWindow {
  readonly from: IsoDate;
  readonly to: IsoDate;
}

const DAY_MS = 86_400_000;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * Whether `value` is a real calendar date written YYYY-MM-DD.
 *
 * @example
 * isIsoDate("2025-02-29"); // false
 */
export function isIsoDate(value: string): boolean {
  const m = ISO_DATE.exec(value);
  if (!m) return false;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return new Date(ms).toISOString().slice(0, 10) === value;
}

function epochDay(date: IsoDate): number {
  if (!isIsoDate(date)) throw new RangeError(`"${date}" is not a YYYY-MM-DD date`);
  return Date.parse(`${date}T00:00:00Z`) / DAY_MS;
}

/**
 * The date `days` after `date` (negative goes back).
 *
 * @example
 * addDays("2024-02-28", 1); // "2024-02-29"
 */
export function addDays(date: IsoDate, days: number): IsoDate {
  return new Date((epochDay(date) + days) * DAY_MS).toISOString().slice(0, 10);
}

/**
 * Days from `from` to `to` (0 when equal, negative when `to` is earlier).
 *
 * @example
 * daysBetween("2025-01-01", "2025-12-31"); // 364
 */
export function daysBetween(from: IsoDate, to: IsoDate): number {
  return epochDay(to) - epochDay(from);
}

/**
 * Splits `[from, to]` into consecutive windows of at most 365 days, oldest first. The split
 * starts at `from`, so the same `from` always gives the same leading windows: that is what lets
 * an interrupted backfill recognise the windows it already fetched.
 *
 * @example
 * splitWindows("2023-01-01", "2024-06-30");
 * // [{from: "2023-01-01", to: "2023-12-31"}, {from: "2024-01-01", to: "2024-06-30"}]
 */
export function splitWindows(from: IsoDate, to: IsoDate): FlexWindow[] {
  if (daysBetween(from, to) < 0) {
    throw new RangeError(`window ${from}..${to} ends before it starts`);
  }
  const windows: FlexWindow[] = [];
  for (let start = from; daysBetween(start, to) >= 0; start = addDays(start, MAX_WINDOW_DAYS)) {
    const end = addDays(start, MAX_WINDOW_DAYS - 1);
    windows.push({ from: start, to: daysBetween(end, to) < 0 ? to : end });
  }
  return windows;
}

/**
 * The window as IBKR's `fd`/`td` parameters want it, yyyymmdd.
 *
 * @example
 * compactDate("2025-01-31"); // "20250131"
 */
export function compactDate(date: IsoDate): string {
  return date.replaceAll("-", "");
}

const NEW_YORK_DAY = new Intl.DateTimeFormat("en-CA", {
  timeZone: "America/New_York",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
});

/**
 * The calendar date in New York at `instant`: IBKR's business day, which decides what
 * "yesterday" means for a statement (Activity Flex data is refreshed at close of business).
 *
 * @example
 * newYorkDate(new Date("2026-03-02T03:00:00Z")); // "2026-03-01" (22:00 the evening before)
 */
export function newYorkDate(instant: Date): IsoDate {
  return NEW_YORK_DAY.format(instant);
}

/** `from..to`, as messages and origins write a window. */
export function windowText(w: FlexWindow): string {
  return `${w.from}..${w.to}`;
}
