/** Errors about what the operator asked for, before any IBKR or journal content is involved. */

/** A path or argument that cannot be used: missing file, directory without XML, bad value. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}

/** A combination of flags or arguments that cannot work (exit 2, like a bad flag). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
