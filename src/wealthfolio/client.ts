/**
 * The Wealthfolio REST client (wealthfolio-api.md §2, §4): a session, and the few calls the push
 * needs. Every protected call carries `Authorization: Bearer <token>`; a 401 logs in once more
 * and repeats the call; a refreshed `wf_session` cookie (the server's sliding session) is
 * adopted. Knows nothing of IBKR or the journal.
 */
import { getLogger } from "@logtape/logtape";
import { errorMessageOf, WealthfolioAuthError, WealthfolioProtocolError } from "./errors.ts";
import { type Holding, parseHoldings } from "./holdings.ts";
import { DEFAULT_RETRY, type HttpAnswer, type HttpCall, type RetryPolicy, send } from "./http.ts";
import { type Session, sessionCookie, type SessionFile, sessionFromLogin } from "./session.ts";

/** An account as `GET /accounts` lists it (the fields the push reads). */
export interface WfAccount {
  readonly id: string;
  readonly name: string;
  readonly currency: string;
  readonly trackingMode: string;
  readonly isArchived: boolean;
  readonly isActive: boolean;
}

/** An asset as `GET /assets` and `POST /assets` answer it (the fields the push reads). */
export interface WfAsset {
  readonly id: string;
  readonly instrumentSymbol: string | null;
  readonly instrumentExchangeMic: string | null;
  readonly instrumentType: string | null;
  readonly quoteCcy: string;
}

/** `POST /assets` body for a market-quoted security (the shape Wealthfolio's own UI sends). */
export interface NewAsset {
  readonly kind: "INVESTMENT";
  readonly name: string | null;
  readonly displayCode: string;
  readonly isActive: true;
  readonly quoteMode: "MARKET";
  readonly quoteCcy: string;
  readonly instrumentType: string;
  readonly instrumentSymbol: string;
  readonly instrumentExchangeMic: string | null;
}

/** A row-level refusal from a bulk call: the create's client `id`, and why. */
export interface BulkRowError {
  readonly id: string | null;
  readonly action: string;
  readonly message: string;
}

/** What a bulk create came to (§4.5): all written, or nothing written and why. */
export type BulkOutcome =
  | { readonly kind: "created"; readonly ids: ReadonlyMap<string, string> }
  | { readonly kind: "rejected"; readonly errors: readonly BulkRowError[] }
  | { readonly kind: "duplicate"; readonly message: string }
  | { readonly kind: "too-large" }
  | { readonly kind: "refused"; readonly status: number; readonly message: string };

export interface ClientOptions {
  /** The server's root URL (without `/api/v1`). */
  readonly baseUrl: string;
  readonly password: string | null;
  /** The session cache; null keeps the session in memory only. */
  readonly sessionFile: SessionFile | null;
  /** Whether a new session may be written to the cache (false for a dry run: it writes nothing). */
  readonly persistSession: boolean;
  readonly timeoutMs?: number;
  readonly retry?: RetryPolicy;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Epoch milliseconds. */
  readonly now?: () => number;
  /** Told every credential this client handles (password, tokens), so output can redact them. */
  readonly onSecret?: (value: string) => void;
}

const log = getLogger(["broker-sync", "wealthfolio"]);

/** A client with a session that lives as long as the process. */
export class WealthfolioClient {
  readonly baseUrl: string;
  readonly #o: ClientOptions;
  readonly #transport: Parameters<typeof send>[0];
  readonly #now: () => number;
  /** undefined: not yet authenticated; null: the server requires no password. */
  #token: string | null | undefined = undefined;

  constructor(options: ClientOptions) {
    this.#o = options;
    this.baseUrl = options.baseUrl;
    this.#now = options.now ?? Date.now;
    this.#transport = {
      apiUrl: `${options.baseUrl}/api/v1`,
      timeoutMs: options.timeoutMs ?? 60_000,
      retry: options.retry ?? DEFAULT_RETRY,
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      now: this.#now,
    };
    if (options.password) options.onSecret?.(options.password);
  }

  /** Every account, archived ones included (so an archived target is named as such). */
  async accounts(): Promise<WfAccount[]> {
    const call = { method: "GET", path: "/accounts?includeArchived=true" } as const;
    const rows = this.#expectJson(call, await this.#call(call), 200);
    if (!Array.isArray(rows)) throw this.#shape(call, "a list of accounts");
    return rows.map((r) => {
      if (!isRecord(r) || typeof r.id !== "string") throw this.#shape(call, "accounts with ids");
      return {
        id: r.id,
        name: String(r.name ?? ""),
        currency: String(r.currency ?? ""),
        trackingMode: String(r.trackingMode ?? "NOT_SET"),
        isArchived: r.isArchived === true,
        isActive: r.isActive !== false,
      };
    });
  }

  /** Every asset. */
  async assets(): Promise<WfAsset[]> {
    const call = { method: "GET", path: "/assets" } as const;
    const rows = this.#expectJson(call, await this.#call(call), 200);
    if (!Array.isArray(rows)) throw this.#shape(call, "a list of assets");
    return rows.map((r) => this.#asset(call, r));
  }

  /**
   * Resolves or creates an asset: Wealthfolio answers an existing instrument (same type,
   * symbol and MIC) with the asset it has (§4.10). A 400 is Wealthfolio refusing this asset.
   */
  async createAsset(
    asset: NewAsset,
  ): Promise<{ kind: "ok"; asset: WfAsset } | { kind: "refused"; message: string }> {
    const call = { method: "POST", path: "/assets", json: JSON.stringify(asset) } as const;
    const answer = await this.#call(call);
    if (answer.status === 400) return { kind: "refused", message: errorMessageOf(answer.body) };
    return { kind: "ok", asset: this.#asset(call, this.#expectJson(call, answer, 200)) };
  }

  /** Which of `keys` Wealthfolio holds: key → activity id (§4.7 check-duplicates). */
  async checkDuplicates(keys: readonly string[]): Promise<Map<string, string>> {
    const call = {
      method: "POST",
      path: "/activities/import/check-duplicates",
      json: JSON.stringify({ idempotencyKeys: keys }),
    } as const;
    const body = this.#expectJson(call, await this.#call(call), 200);
    const duplicates = isRecord(body) ? body.duplicates : undefined;
    if (!isRecord(duplicates)) throw this.#shape(call, "{duplicates: {key: id}}");
    const found = new Map<string, string>();
    for (const [key, id] of Object.entries(duplicates)) {
      if (typeof id !== "string") throw this.#shape(call, "activity ids as strings");
      found.set(key, id);
    }
    return found;
  }

  /**
   * Creates activities in one atomic bulk call (§4.5): `json` is `{"creates":[…]}`, already
   * serialised (the push measures it to chunk), and `keys` the creates' ids. Each create's `id`
   * is its idempotency key, which Wealthfolio echoes in `errors[].id` and
   * `createdMappings[].tempId`.
   */
  async bulkCreateBody(json: string, keys: readonly string[]): Promise<BulkOutcome> {
    const call = { method: "POST", path: "/activities/bulk", json } as const;
    const answer = await this.#call(call);
    if (answer.status === 413) return { kind: "too-large" };
    if (answer.status !== 200) {
      const message = errorMessageOf(answer.body);
      // The contract reads 400; a third-party fixture shows 409: match on the words (§13).
      if ((answer.status === 400 || answer.status === 409) && /Duplicate activity/i.test(message)) {
        return { kind: "duplicate", message };
      }
      return { kind: "refused", status: answer.status, message };
    }
    const body = this.#expectJson(call, answer, 200);
    if (!isRecord(body)) throw this.#shape(call, "a bulk result object");
    const errors = Array.isArray(body.errors) ? body.errors : [];
    if (errors.length > 0) {
      return {
        kind: "rejected",
        errors: errors.map((e) => ({
          id: isRecord(e) && typeof e.id === "string" ? e.id : null,
          action: isRecord(e) ? String(e.action ?? "") : "",
          message: isRecord(e) && typeof e.message === "string" ? e.message : JSON.stringify(e),
        })),
      };
    }
    const ids = new Map<string, string>();
    for (const m of Array.isArray(body.createdMappings) ? body.createdMappings : []) {
      if (isRecord(m) && typeof m.tempId === "string" && typeof m.activityId === "string") {
        ids.set(m.tempId, m.activityId);
      }
    }
    for (const a of Array.isArray(body.created) ? body.created : []) {
      if (isRecord(a) && typeof a.idempotencyKey === "string" && typeof a.id === "string") {
        ids.set(a.idempotencyKey, a.id);
      }
    }
    const wanted = new Set(keys);
    for (const key of ids.keys()) if (!wanted.has(key)) ids.delete(key);
    return { kind: "created", ids };
  }

  /** Deletes one activity (§4.6); an unknown id is a 400, reported as `not-found`. */
  async deleteActivity(id: string): Promise<"deleted" | "not-found"> {
    const call = { method: "DELETE", path: `/activities/${encodeURIComponent(id)}` } as const;
    const answer = await this.#call(call);
    if (answer.status === 200 || answer.status === 204) return "deleted";
    const message = errorMessageOf(answer.body);
    if (answer.status === 400 && /not found/i.test(message)) return "not-found";
    throw new WealthfolioProtocolError(
      `${call.method} /activities/{id}`,
      answer.status,
      `HTTP ${answer.status}: ${message}`,
    );
  }

  /**
   * One account's holdings as Wealthfolio computes them now (§4.9), quantities exact. An unknown
   * account answers an empty list: check the account first (AccountHoldings does).
   */
  async holdings(accountId: string): Promise<Holding[]> {
    const call = {
      method: "GET",
      path: `/holdings?accountId=${encodeURIComponent(accountId)}`,
    } as const;
    const answer = await this.#call(call);
    const name = `${call.method} ${call.path}`;
    if (answer.status !== 200) {
      throw new WealthfolioProtocolError(
        name,
        answer.status,
        `HTTP ${answer.status}: ${errorMessageOf(answer.body)}`,
      );
    }
    return parseHoldings(answer.body, name);
  }

  // ----- session

  /** A protected call: authenticated first if need be, and once more after a 401. */
  async #call(call: HttpCall): Promise<HttpAnswer> {
    if (this.#token === undefined) await this.#authenticate(false);
    let answer = await send(this.#transport, { ...call, token: this.#token });
    if (answer.status === 401) {
      log.info("Wealthfolio refused the session on {call}; logging in again", {
        call: `${call.method} ${call.path}`,
      });
      await this.#authenticate(true);
      answer = await send(this.#transport, { ...call, token: this.#token });
      if (answer.status === 401) {
        throw new WealthfolioAuthError(
          `Wealthfolio ${call.method} ${call.path}: refused a session it had just issued (401 ${
            errorMessageOf(answer.body)
          })`,
        );
      }
    }
    this.#adoptRefresh(answer);
    return answer;
  }

  async #authenticate(afterRefusal: boolean): Promise<void> {
    if (afterRefusal) {
      if (this.#o.persistSession) this.#o.sessionFile?.clear();
    } else {
      const cached = this.#o.sessionFile?.load(this.#now());
      if (cached) {
        this.#o.onSecret?.(cached.token);
        this.#token = cached.token;
        log.debug("using the cached Wealthfolio session");
        return;
      }
    }
    const statusCall = { method: "GET", path: "/auth/status" } as const;
    const status = this.#expectJson(statusCall, await send(this.#transport, statusCall), 200);
    if (!isRecord(status) || typeof status.requiresPassword !== "boolean") {
      throw this.#shape(statusCall, "{requiresPassword}");
    }
    if (!status.requiresPassword) {
      this.#token = null;
      return;
    }
    if (!this.#o.password) {
      throw new WealthfolioAuthError(
        `Wealthfolio at ${this.baseUrl} requires a password: set WF_PASSWORD`,
      );
    }
    this.#token = await this.#login(this.#o.password);
  }

  async #login(password: string): Promise<string | null> {
    const call = {
      method: "POST",
      path: "/auth/login",
      json: JSON.stringify({ password }),
    } as const;
    const answer = await send(this.#transport, call);
    if (answer.status === 401) {
      throw new WealthfolioAuthError(
        `Wealthfolio at ${this.baseUrl} refused the password in WF_PASSWORD (401 ${
          errorMessageOf(answer.body)
        })`,
      );
    }
    if (answer.status === 404) {
      // Authentication is not configured after all: every route is open.
      return null;
    }
    const body = this.#expectJson(call, answer, 200);
    const session = sessionFromLogin(body, answer.headers.getSetCookie(), this.#now());
    if (!session) {
      throw new WealthfolioProtocolError(
        "POST /auth/login",
        200,
        "answered 200 without a token (neither accessToken nor a wf_session cookie)",
      );
    }
    this.#o.onSecret?.(session.token);
    if (session.expiresAt !== null) {
      this.#save({ token: session.token, expiresAt: session.expiresAt });
    }
    log.debug("logged in to Wealthfolio");
    return session.token;
  }

  /** The server slides the session past half its lifetime by sending a new cookie: keep it. */
  #adoptRefresh(answer: HttpAnswer): void {
    const cookie = sessionCookie(answer.headers.getSetCookie());
    if (!cookie || cookie.token === this.#token || this.#token === null) return;
    this.#o.onSecret?.(cookie.token);
    this.#token = cookie.token;
    if (cookie.maxAge !== null) {
      this.#save({ token: cookie.token, expiresAt: this.#now() + cookie.maxAge * 1000 });
    }
  }

  #save(session: Session): void {
    if (this.#o.persistSession) this.#o.sessionFile?.save(session);
  }

  // ----- answers

  #expectJson(call: HttpCall, answer: HttpAnswer, status: number): unknown {
    const name = `${call.method} ${call.path}`;
    if (answer.status !== status) {
      throw new WealthfolioProtocolError(
        name,
        answer.status,
        `HTTP ${answer.status}: ${errorMessageOf(answer.body)}`,
      );
    }
    try {
      return JSON.parse(answer.body);
    } catch {
      throw new WealthfolioProtocolError(name, answer.status, "answered a body that is not JSON");
    }
  }

  #shape(call: HttpCall, expected: string): WealthfolioProtocolError {
    return new WealthfolioProtocolError(
      `${call.method} ${call.path}`,
      200,
      `answered JSON that is not ${expected}`,
    );
  }

  #asset(call: HttpCall, r: unknown): WfAsset {
    if (!isRecord(r) || typeof r.id !== "string" || typeof r.quoteCcy !== "string") {
      throw this.#shape(call, "an asset with id and quoteCcy");
    }
    const text = (v: unknown) => (typeof v === "string" ? v : null);
    return {
      id: r.id,
      instrumentSymbol: text(r.instrumentSymbol),
      instrumentExchangeMic: text(r.instrumentExchangeMic),
      instrumentType: text(r.instrumentType),
      quoteCcy: r.quoteCcy,
    };
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
