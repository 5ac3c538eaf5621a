/**
 * The Wealthfolio session: the token a login gives, where it comes from, and its cache file.
 *
 * Wealthfolio 3.0 answered a login with `{"accessToken", "expiresIn"}`; from 3.1 on the token is
 * only in the `wf_session` cookie and the body says `{"authenticated", "expiresIn"}`
 * (wealthfolio-api.md §2). Either way the token is then sent as `Authorization: Bearer`.
 *
 * The cache is a small JSON file created 0600 (it holds a credential), written by rename so a
 * crash never leaves half a file, and used only for the server it was issued by.
 */

/** A token and when it stops being valid. */
export interface Session {
  readonly token: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

/** A session is not used in its last minute: a call must not race the expiry. */
export const EXPIRY_MARGIN_MS = 60_000;

/**
 * The token of a successful login: `accessToken` in the body (3.0), else the `wf_session`
 * cookie (3.1+). Its lifetime is the body's `expiresIn`, else the cookie's `Max-Age`, else the
 * token's own `exp` claim; null when none of them is there (the session is then not cached).
 *
 * Example: body `{"authenticated":true,"expiresIn":3600}` with
 * `Set-Cookie: wf_session=eyJ…; HttpOnly; Path=/api; Max-Age=3600` → the cookie's token, 1 h.
 */
export function sessionFromLogin(
  body: unknown,
  setCookies: readonly string[],
  now: number,
): { token: string; expiresAt: number | null } | null {
  const fields = typeof body === "object" && body !== null ? body as Record<string, unknown> : {};
  const cookie = sessionCookie(setCookies);
  const token = typeof fields.accessToken === "string" && fields.accessToken !== ""
    ? fields.accessToken
    : cookie?.token;
  if (!token) return null;
  const seconds = typeof fields.expiresIn === "number" && fields.expiresIn > 0
    ? fields.expiresIn
    : cookie?.maxAge ?? null;
  if (seconds !== null) return { token, expiresAt: now + seconds * 1000 };
  const exp = jwtExpiry(token);
  return { token, expiresAt: exp };
}

/** The `wf_session` cookie among `Set-Cookie` headers, with its Max-Age; null when absent or cleared. */
export function sessionCookie(
  setCookies: readonly string[],
): { token: string; maxAge: number | null } | null {
  for (const header of setCookies) {
    const [pair, ...attributes] = header.split(";");
    const eq = pair.indexOf("=");
    if (eq < 0 || pair.slice(0, eq).trim() !== "wf_session") continue;
    const token = pair.slice(eq + 1).trim();
    let maxAge: number | null = null;
    for (const a of attributes) {
      const [k, v] = a.split("=").map((s) => s.trim());
      if (k.toLowerCase() === "max-age" && /^\d+$/.test(v ?? "")) maxAge = Number(v);
    }
    if (token === "" || maxAge === 0) return null;
    return { token, maxAge };
  }
  return null;
}

/** A JWT's `exp` claim in epoch milliseconds, or null when the token does not say. */
function jwtExpiry(token: string): number | null {
  const payload = token.split(".")[1];
  if (!payload) return null;
  try {
    const claims = JSON.parse(atob(payload.replaceAll("-", "+").replaceAll("_", "/")));
    return typeof claims?.exp === "number" ? claims.exp * 1000 : null;
  } catch {
    return null;
  }
}

/** The session cache file of one server. */
export class SessionFile {
  constructor(readonly path: string, readonly baseUrl: string) {}

  /** The cached session if it is for this server and still good at `now`; else null. */
  load(now: number): Session | null {
    let text: string;
    try {
      text = Deno.readTextFileSync(this.path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    }
    try {
      const cached = JSON.parse(text);
      if (
        cached?.baseUrl !== this.baseUrl || typeof cached.token !== "string" ||
        typeof cached.expiresAt !== "number"
      ) return null;
      if (cached.expiresAt - EXPIRY_MARGIN_MS <= now) return null;
      return { token: cached.token, expiresAt: cached.expiresAt };
    } catch {
      // A damaged cache is only a cache: log in again and overwrite it.
      return null;
    }
  }

  /** Writes the session, 0600, atomically. */
  save(session: Session): void {
    const dir = this.path.includes("/") ? this.path.slice(0, this.path.lastIndexOf("/")) : ".";
    Deno.mkdirSync(dir || "/", { recursive: true, mode: 0o700 });
    const temp = `${this.path}.${Deno.pid}.tmp`;
    const text = JSON.stringify({
      baseUrl: this.baseUrl,
      token: session.token,
      expiresAt: session.expiresAt,
    });
    Deno.writeTextFileSync(temp, text, { mode: 0o600 });
    // `mode` applies only when the file is created: make sure a leftover temp file is 0600 too.
    Deno.chmodSync(temp, 0o600);
    Deno.renameSync(temp, this.path);
  }

  /** Forgets the session (the server refused it). */
  clear(): void {
    try {
      Deno.removeSync(this.path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
}
