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
