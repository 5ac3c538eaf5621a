/**
 * The cost-basis source the mapper gets when it maps into the journal: what the journal has booked
 * for an instrument so far (this document's earlier rows included, since they are written as they
 * are mapped), replayed FIFO by `mapping/cost_basis.ts`.
 */
import type { DatabaseSync } from "node:sqlite";
import { type CostBasisSource, heldPosition } from "../mapping/cost_basis.ts";
import { InstrumentActivities } from "../journal/positions.ts";

/** Example: `journalCostBasis(db).position({account, conid, through, inclusive})?.costOf(q)`. */
export function journalCostBasis(db: DatabaseSync): CostBasisSource {
  const activities = new InstrumentActivities(db);
  return {
    position: (q) =>
      heldPosition(
        activities.list(q).filter((a) => !q.excludeGroup || a.groupKey !== q.excludeGroup),
      ),
  };
}
