/** `activities`: list the journal, filtered. */
import {
  type ActivityFilter,
  type JournalActivity,
  listActivities,
} from "../journal/activities.ts";
import { journalExists, journalPath, openJournal } from "../journal/db.ts";

/** Lists journal activities; an absent journal lists nothing. */
export function journalActivities(dataDir: string, filter: ActivityFilter): JournalActivity[] {
  const path = journalPath(dataDir);
  if (!journalExists(path)) return [];
  const db = openJournal(path, { create: false });
  try {
    return listActivities(db, filter);
  } finally {
    db.close();
  }
}
