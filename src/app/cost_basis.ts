/**
 * The cost-basis source the mapper gets when it maps into the journal: what the journal has booked
 * for an instrument so far, replayed FIFO by `mapping/cost_basis.ts`.
 *
 * Reading the journal costs one pass over the activities table, so instruments are read in
 * batches (`prefetch`, once per statement's corporate actions and transfers) and kept; the
 * document mapping tells the source about every activity it writes (`written`, `removed`), so a
 * later lookup in the same document sees them (an action that moves what an earlier one brought
 * in). One source serves one document: cancellations resolved after it are not its concern.
 */
import type { DatabaseSync } from "node:sqlite";
import type { Activity } from "../domain/activity.ts";
import {
  type CostBasisSource,
  type HeldPosition,
  heldPosition,
  type InstrumentRef,
  type PositionQuery,
} from "../mapping/cost_basis.ts";
import { activitiesOfConids, movesPosition } from "../journal/positions.ts";

const ref = (account: string, conid: string) => `${account}\n${conid}`;

export class JournalCostBasis implements CostBasisSource {
  readonly #db: DatabaseSync;
  /** Standing activities per account and conid, oldest first. */
  readonly #known = new Map<string, Activity[]>();
  /** Which list holds a key, so a write that replaces it is found without a search. */
  readonly #listOf = new Map<string, Activity[]>();

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Whether any instrument has been read: until then `written` has nothing to update. */
  get holdsAny(): boolean {
    return this.#known.size > 0;
  }

  prefetch(instruments: readonly InstrumentRef[]): void {
    const missing = instruments.filter((i) => !this.#known.has(ref(i.account, i.conid)));
    if (missing.length === 0) return;
    for (const i of missing) this.#known.set(ref(i.account, i.conid), []);
    const conids = [...new Set(missing.map((i) => i.conid))];
    for (const a of activitiesOfConids(this.#db, conids)) {
      const list = this.#known.get(ref(a.account, a.conid!));
      if (!list || this.#listOf.has(a.key)) continue;
      list.push(a);
      this.#listOf.set(a.key, list);
    }
  }

  position(q: PositionQuery): HeldPosition | null {
    return heldPosition(this.standing(q));
  }

  /** The activities a position query counts, oldest first: what `position` replays. */
  standing(q: PositionQuery): Activity[] {
    this.prefetch([q]);
    const list = this.#known.get(ref(q.account, q.conid))!;
    return list.filter((a) => {
      const day = a.date.slice(0, 10);
      return (q.inclusive ? day <= q.through : day < q.through) &&
        (q.before === undefined || a.date < q.before) &&
        (!q.excludeGroup || a.groupKey !== q.excludeGroup);
    });
  }

  /** An activity the journal now holds under its key (new, or replacing an older mapping). */
  written(a: Activity): void {
    this.removed(a.key);
    if (!movesPosition(a)) return;
    const list = this.#known.get(ref(a.account, a.conid!));
    if (!list) return; // Read from the journal, with this activity, when first asked.
    const at = list.findIndex((b) => b.date > a.date || (b.date === a.date && b.key > a.key));
    list.splice(at < 0 ? list.length : at, 0, a);
    this.#listOf.set(a.key, list);
  }

  /** A key that no longer stands (now a skip). */
  removed(key: string): void {
    const list = this.#listOf.get(key);
    if (!list) return;
    list.splice(list.findIndex((a) => a.key === key), 1);
    this.#listOf.delete(key);
  }
}

/** Example: `journalCostBasis(db).position({account, conid, through, inclusive})?.costOf(q)`. */
export function journalCostBasis(db: DatabaseSync): JournalCostBasis {
  return new JournalCostBasis(db);
}
