/** Errors about what the operator asked for, before any IBKR or journal content is involved. */

/** A path or argument that cannot be used: missing file, directory without XML, bad value. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}

/** No statement to reconcile an account against, or one that lacks a section we need. */
export class NothingToReconcileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NothingToReconcileError";
  }
}

/** Journaled activities of an IBKR account that no Wealthfolio account is configured for. */
export class UnmappedAccountError extends Error {
  constructor(readonly ibkrAccount: string, readonly activities: number) {
    super(
      `no Wealthfolio account for IBKR account ${ibkrAccount} (${activities} activities to push): ` +
        `set IBKR_ACCOUNT_ID, or add ${ibkrAccount}=<wealthfolio-account-id> to IBKR_ACCOUNTS. ` +
        "Nothing was written",
    );
    this.name = "UnmappedAccountError";
  }
}

/** The push finished, but Wealthfolio refused some activities: they are `failed` in the journal. */
export class RowsRefusedError extends Error {
  constructor(readonly refused: number) {
    super(
      `Wealthfolio refused ${refused} activit${refused === 1 ? "y" : "ies"}; ` +
        "they are now failed with its message (broker-sync activities --state failed), " +
        "the rest was pushed. Fix the cause, then: broker-sync import --retry-failed",
    );
    this.name = "RowsRefusedError";
  }
}

/** A combination of flags or arguments that cannot work (exit 2, like a bad flag). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
