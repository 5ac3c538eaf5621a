/**
 * A typed view of one Flex row. Values are converted only when the mapper asks for them, so a
 * 130 MB statement does not pay for the dozens of attributes nobody reads.
 */
import { Decimal } from "decimal.js";
import {
  type DayOrder,
  type FlexDateTime,
  type IsoDate,
  parseFlexDate,
  parseFlexDateTime,
} from "./dates.ts";
import { FlexRowError } from "./errors.ts";
import type { RowShape } from "./schema.ts";

/** What a row knows about the statement around it. */
export interface RowContext {
  readonly origin: string;
  readonly accountId: string;
  readonly dayOrder: DayOrder;
}

// IBKR writes "no value" in several ways (contracts/ibkr-flex.md §2).
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Whether a raw attribute value means "absent". */
export function isEmptyValue(value: string | undefined): boolean {
  if (value === undefined) return true;
  // Plain comparisons: called millions of times on a large statement, where a Set lookup of a
  // freshly parsed string cost more than a second (docs/benchmarks.md).
  const v =
    value.length > 0 && (value.charCodeAt(0) === 32 || value.charCodeAt(value.length - 1) === 32)
      ? value.trim()
      : value;
  return v === "" || v === "-" || v === "--" || v === "N/A";
}

/**
 * Parses an IBKR number exactly, tolerating thousands separators. Returns undefined when the
 * text is not a number. Example: `parseFlexDecimal("4,250.00")` → Decimal 4250.
 */
export function parseFlexDecimal(value: string): Decimal | undefined {
  const text = value.includes(",") ? value.replaceAll(",", "").trim() : value.trim();
  return NUMBER.test(text) ? new Decimal(text) : undefined;
}

export class FlexRow<S extends RowShape = RowShape> {
  readonly tag: S["tag"];
  constructor(
    readonly shape: S,
    /** Every attribute as written, declared or not. */
    readonly attributes: Readonly<Record<string, string>>,
    readonly context: RowContext,
  ) {
    this.tag = shape.tag;
  }

  /** A text attribute, trimmed, or null when absent or one of IBKR's empty markers. */
  text(name: S["texts"][number]): string | null {
    const value = this.attributes[name];
    return isEmptyValue(value) ? null : value.trim();
  }

  /** A decimal attribute; an unparseable value is an error naming the row, never a guess. */
  decimal(name: S["decimals"][number]): Decimal | null {
    const value = this.attributes[name];
    if (isEmptyValue(value)) return null;
    const parsed = parseFlexDecimal(value);
    if (parsed === undefined) throw this.error(name, "is not a number");
    return parsed;
  }

  /** A date attribute as `YYYY-MM-DD`, or null when absent / `MULTI`. */
  date(name: S["dates"][number]): IsoDate | null {
    const value = this.attributes[name];
    if (value === undefined) return null;
    try {
      return parseFlexDate(value, this.context.dayOrder);
    } catch (e) {
      throw this.error(name, `is not a date this reader understands (${(e as Error).message})`);
    }
  }

  /** A date-time attribute, or null when absent / `MULTI`. */
  dateTime(name: S["dateTimes"][number]): FlexDateTime | null {
    const value = this.attributes[name];
    if (value === undefined) return null;
    try {
      return parseFlexDateTime(value, this.context.dayOrder);
    } catch (e) {
      throw this.error(
        name,
        `is not a date-time this reader understands (${(e as Error).message})`,
      );
    }
  }

  /** The row's transactionID as written, for messages. */
  get transactionId(): string | null {
    const value = this.attributes["transactionID"];
    return isEmptyValue(value) ? null : value.trim();
  }

  /**
   * IBKR's stable id of the row: its transactionID when it is one. IBKR's ids are digits;
   * anonymised exports put text such as `REDACTED` there, which identifies nothing.
   */
  get ibkrId(): string | null {
    const id = this.transactionId;
    return id !== null && /^\d+$/.test(id) ? id : null;
  }

  /** An error about one attribute of this row, naming section, transactionID and value. */
  error(attribute: string, problem: string): FlexRowError {
    return new FlexRowError(
      this.context.origin,
      this.shape.section,
      this.transactionId,
      attribute,
      this.attributes[attribute] ?? null,
      problem,
    );
  }
}
