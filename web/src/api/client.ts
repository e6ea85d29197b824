// The typed API client: openapi-fetch over the generated schema, with the access token attached
// and one silent refresh when the server answers 401 TOKEN_EXPIRED.
import createClient from 'openapi-fetch';
import type { paths } from './schema';
import { ApiError, toApiError } from './errors';
import { getAccessToken, refreshAccessToken } from './token-store';

async function isExpired(response: Response): Promise<boolean> {
  if (response.status !== 401) return false;
  try {
    const body = (await response.clone().json()) as { error?: { code?: string } };
    return body.error?.code === 'TOKEN_EXPIRED';
  } catch {
    return false;
  }
}

function withToken(request: Request, token: string | null): Request {
  if (token) request.headers.set('Authorization', `Bearer ${token}`);
  return request;
}

/** `fetch` with the bearer token, retried once with a fresh token after TOKEN_EXPIRED. */
export async function authFetch(input: Request): Promise<Response> {
  const spare = input.clone();
  const response = await fetch(withToken(input, getAccessToken()));
  if (!(await isExpired(response))) return response;
  const token = await refreshAccessToken();
  if (!token) return response;
  return fetch(withToken(spare, token));
}

export const api = createClient<paths>({
  // Absolute, because `Request` needs one outside a browser page (tests); same origin in the app.
  baseUrl: globalThis.location?.origin ?? '',
  credentials: 'same-origin',
  fetch: (request) => authFetch(request),
});

interface Answer<E> {
  data?: E;
  error?: unknown;
  response: Response;
}

/** The `data` of a success envelope, or an `ApiError` from the error envelope. */
export async function unwrap<T>(call: Promise<Answer<{ data: T }>>): Promise<T> {
  let answer: Answer<{ data: T }>;
  try {
    answer = await call;
  } catch (cause) {
    if (cause instanceof ApiError) throw cause;
    throw new ApiError('NETWORK_ERROR', String(cause), 0);
  }
  if (answer.data !== undefined && answer.response.ok) return answer.data.data;
  throw toApiError(answer.error, answer.response.status);
}
