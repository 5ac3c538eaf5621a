/**
 * What can go wrong talking to Wealthfolio, as typed errors an operator can act on. Messages
 * name the call and Wealthfolio's own words; they never carry a request body, a password or a
 * session token.
 */

/** Unreachable, timing out, 5xx or rate-limited after every retry. Worth trying again later. */
export class WealthfolioUnavailableError extends Error {
  constructor(readonly call: string, detail: string) {
    super(`Wealthfolio ${call}: ${detail}`);
    this.name = "WealthfolioUnavailableError";
  }
}

/** The password was refused, or a fresh session was refused at once. */
export class WealthfolioAuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WealthfolioAuthError";
  }
}

/** A target account is missing, archived, or does not track transactions. */
export class WealthfolioAccountError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WealthfolioAccountError";
  }
}

/** An answer outside the contract: an unexpected status, or a body of the wrong shape. */
export class WealthfolioProtocolError extends Error {
  constructor(readonly call: string, readonly status: number | null, detail: string) {
    super(`Wealthfolio ${call}: ${detail}`);
    this.name = "WealthfolioProtocolError";
  }
}

/** Wealthfolio's message from an error body: `{"code","message"}` JSON, or Axum's plain text. */
export function errorMessageOf(body: string): string {
  try {
    const parsed = JSON.parse(body);
    if (parsed && typeof parsed.message === "string") return parsed.message;
  } catch {
    // Extractor rejections (400/413/415/422) are plain text.
  }
  const text = body.trim().replaceAll(/\s+/g, " ");
  return text.length > 300 ? `${text.slice(0, 300)}…` : text || "(empty body)";
}
