import assert from "node:assert/strict";
import {
  addDays,
  compactDate,
  daysBetween,
  isIsoDate,
  MAX_WINDOW_DAYS,
  newYorkDate,
  splitWindows,
} from "../../src/flex/windows.ts";

Deno.test("a span of up to 365 days is one window", () => {
  assert.deepEqual(splitWindows("2025-01-01", "2025-12-31"), [
    { from: "2025-01-01", to: "2025-12-31" },
  ]);
  assert.deepEqual(splitWindows("2025-03-05", "2025-03-05"), [
    { from: "2025-03-05", to: "2025-03-05" },
  ]);
});

Deno.test("longer spans split into consecutive ≤365-day windows from the start date", () => {
  const windows = splitWindows("2023-06-01", "2026-02-10");
  assert.deepEqual(windows, [
    { from: "2023-06-01", to: "2024-05-30" }, // 2024 is a leap year: 365 days inclusive
    { from: "2024-05-31", to: "2025-05-30" },
    { from: "2025-05-31", to: "2026-02-10" },
  ]);
  for (const w of windows) assert.ok(daysBetween(w.from, w.to) + 1 <= MAX_WINDOW_DAYS);
  for (let i = 1; i < windows.length; i++) {
    assert.equal(windows[i].from, addDays(windows[i - 1].to, 1), "no gap, no overlap");
  }
});

Deno.test("the same start gives the same leading windows whatever the end", () => {
  const a = splitWindows("2022-01-01", "2024-03-01");
  const b = splitWindows("2022-01-01", "2024-03-02");
  assert.deepEqual(a.slice(0, -1), b.slice(0, -1));
});

Deno.test("a window ending before it starts is refused", () => {
  assert.throws(() => splitWindows("2025-02-01", "2025-01-31"), RangeError);
});

Deno.test("dates: real calendar days only, arithmetic across leap days, fd/td form", () => {
  assert.ok(isIsoDate("2024-02-29"));
  assert.ok(!isIsoDate("2025-02-29"));
  assert.ok(!isIsoDate("2025-1-01"));
  assert.equal(addDays("2024-02-28", 2), "2024-03-01");
  assert.equal(addDays("2025-01-01", -1), "2024-12-31");
  assert.equal(compactDate("2025-01-31"), "20250131");
});

Deno.test("the business day is New York's: late evening there is already tomorrow in UTC", () => {
  assert.equal(newYorkDate(new Date("2026-03-02T03:00:00Z")), "2026-03-01");
  assert.equal(newYorkDate(new Date("2026-07-01T12:00:00Z")), "2026-07-01");
});
