import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { api, unwrap } from './client';
import { ApiError } from './errors';
import { getAccessToken, refreshAccessToken, setAccessToken } from './token-store';
import { envelope, errorEnvelope } from '@/test/fixtures';

type Handler = (request: Request) => Response | Promise<Response>;

function mockFetch(handler: Handler) {
  const calls: Request[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = input instanceof Request ? input : new Request(new URL(String(input), 'http://test'), init);
      calls.push(request);
      return handler(request);
    }),
  );
  return calls;
}

beforeEach(() => setAccessToken(null));
afterEach(() => vi.unstubAllGlobals());

describe('the API client', () => {
  it('sends the access token and unwraps the envelope', async () => {
    setAccessToken('token-1', 900);
    const calls = mockFetch(() => envelope({ user: { id: 'u1', name: 'Kai' } }));
    const me = await unwrap(api.GET('/api/v1/auth/me'));
    expect(me.user.name).toBe('Kai');
    expect(calls[0].headers.get('Authorization')).toBe('Bearer token-1');
  });

  it('turns the error envelope into an ApiError with the stable code', async () => {
    mockFetch(() => errorEnvelope(409, 'CONFLICT', { current_version: 7 }));
    const failure = unwrap(api.PUT('/api/v1/projects/{id}', { params: { path: { id: 'p1' } }, body: {} }));
    await expect(failure).rejects.toBeInstanceOf(ApiError);
    await expect(failure).rejects.toMatchObject({ code: 'CONFLICT', status: 409, details: { current_version: 7 } });
  });

  it('refreshes once on TOKEN_EXPIRED and repeats the request with the new token', async () => {
    setAccessToken('old', 900);
    const calls = mockFetch((request) => {
      if (request.url.endsWith('/auth/refresh')) return envelope({ access: 'new', refresh: 'r', expiresIn: 900 });
      const auth = request.headers.get('Authorization');
      return auth === 'Bearer new' ? envelope({ items: [], pagination: { page: 1, size: 20, total: 0, pages: 0 } }) : errorEnvelope(401, 'TOKEN_EXPIRED');
    });
    const page = await unwrap(api.GET('/api/v1/projects'));
    expect(page.items).toEqual([]);
    expect(getAccessToken()).toBe('new');
    expect(calls.map((c) => new URL(c.url).pathname)).toEqual(['/api/v1/projects', '/api/v1/auth/refresh', '/api/v1/projects']);
  });

  it('repeats a request body after a refresh', async () => {
    setAccessToken('old', 900);
    const bodies: string[] = [];
    mockFetch(async (request) => {
      if (request.url.endsWith('/auth/refresh')) return envelope({ access: 'new', refresh: 'r', expiresIn: 900 });
      bodies.push(await request.text());
      return request.headers.get('Authorization') === 'Bearer new' ? envelope({ project: { id: 'p' } }, 201) : errorEnvelope(401, 'TOKEN_EXPIRED');
    });
    await unwrap(api.POST('/api/v1/projects', { body: { title: 'x' } as never }));
    expect(bodies).toEqual(['{"title":"x"}', '{"title":"x"}']);
  });

  it('does not refresh on other 401s', async () => {
    setAccessToken('bad', 900);
    const calls = mockFetch(() => errorEnvelope(401, 'INVALID_TOKEN'));
    await expect(unwrap(api.GET('/api/v1/auth/me'))).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
    expect(calls).toHaveLength(1);
  });

  it('shares one refresh between concurrent callers (a refresh token is spent once)', async () => {
    let refreshes = 0;
    mockFetch(async () => {
      refreshes += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return envelope({ access: 'fresh', refresh: 'r', expiresIn: 900 });
    });
    const tokens = await Promise.all([refreshAccessToken(), refreshAccessToken(), refreshAccessToken()]);
    expect(tokens).toEqual(['fresh', 'fresh', 'fresh']);
    expect(refreshes).toBe(1);
  });

  it('forgets the token when the refresh cookie is refused', async () => {
    setAccessToken('old', 900);
    mockFetch(() => errorEnvelope(401, 'INVALID_TOKEN'));
    expect(await refreshAccessToken()).toBeNull();
    expect(getAccessToken()).toBeNull();
  });
});
