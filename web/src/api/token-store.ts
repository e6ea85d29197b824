// The access token lives in memory only (never localStorage): a reload loses it, and the
// HttpOnly refresh cookie (`cinegen_refresh`, path /api/v1/auth) brings it back.

type Listener = (token: string | null) => void;

let accessToken: string | null = null;
let expiresAt = 0;
let refreshing: Promise<string | null> | null = null;
const listeners = new Set<Listener>();

export const REFRESH_PATH = '/api/v1/auth/refresh';

export function getAccessToken(): string | null {
  return accessToken;
}

/** Whether the token is missing or ends within `marginMs`. */
export function tokenExpiresSoon(marginMs = 30_000): boolean {
  return !accessToken || Date.now() + marginMs >= expiresAt;
}

export function setAccessToken(token: string | null, expiresInSecs = 0): void {
  accessToken = token;
  expiresAt = token ? Date.now() + expiresInSecs * 1000 : 0;
  listeners.forEach((listener) => listener(token));
}

export function onTokenChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * Spends the refresh cookie for a new access token. Concurrent callers share one request: the
 * server revokes a whole session when a refresh token is spent twice.
 */
export function refreshAccessToken(): Promise<string | null> {
  refreshing ??= withRefreshLock(async () => {
    try {
      const response = await fetch(REFRESH_PATH, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' },
        body: '{}',
      });
      if (!response.ok) {
        setAccessToken(null);
        return null;
      }
      const body = (await response.json()) as { data: { access: string; expiresIn: number } };
      setAccessToken(body.data.access, body.data.expiresIn);
      return body.data.access;
    } catch {
      // Offline or server down: keep whatever we had, the caller decides.
      return accessToken;
    } finally {
      refreshing = null;
    }
  });
  return refreshing;
}

/**
 * Tabs of one browser share the refresh cookie. Two tabs spending the same cookie at once would
 * look like a stolen token to the server, which then ends the session; a Web Lock lets one tab
 * refresh at a time, and the next one sends the cookie the first one received.
 */
function withRefreshLock<T>(run: () => Promise<T>): Promise<T> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  return locks ? (locks.request('cinegen-token-refresh', run) as Promise<T>) : run();
}

/** A token good for at least a few seconds more, refreshing first when needed. */
export async function freshAccessToken(): Promise<string | null> {
  if (!tokenExpiresSoon()) return accessToken;
  return refreshAccessToken();
}
