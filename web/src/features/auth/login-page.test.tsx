import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createMemoryRouter, RouterProvider } from 'react-router';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { I18nProvider, LANGUAGE_KEY } from '@/i18n';
import { setAccessToken, getAccessToken } from '@/api/token-store';
import { envelope, errorEnvelope } from '@/test/fixtures';
import { AuthProvider } from './auth-provider';
import { LoginPage } from './auth-pages';
import { RequireAuth } from './require-auth';

const user = { id: 'u1', email: 'kai@example.com', name: 'Kai', quota_total: 1, quota_used: 0, quota_percent: 0, created_at: '' };

function renderApp(start: string, handler: (request: Request) => Response) {
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) =>
      handler(input instanceof Request ? input : new Request(new URL(String(input), 'http://localhost'), init)),
    ),
  );
  const router = createMemoryRouter(
    [
      { path: '/login', element: <LoginPage /> },
      { path: '/projects/:id', element: <RequireAuth><p>workspace</p></RequireAuth> },
    ],
    { initialEntries: [start] },
  );
  render(
    <QueryClientProvider client={new QueryClient()}>
      <I18nProvider>
        <AuthProvider>
          <RouterProvider router={router} />
        </AuthProvider>
      </I18nProvider>
    </QueryClientProvider>,
  );
}

afterEach(() => {
  vi.unstubAllGlobals();
  setAccessToken(null);
});

describe('signing in', () => {
  it('sends a signed-out visitor to sign in, then back to the page they asked for', async () => {
    renderApp('/projects/p1', (request) => {
      const path = new URL(request.url).pathname;
      if (path === '/api/v1/auth/refresh') return errorEnvelope(401, 'INVALID_TOKEN');
      if (path === '/api/v1/auth/login') return envelope({ user, tokens: { access: 'a1', refresh: 'r1', expiresIn: 900 } });
      return errorEnvelope(404, 'NOT_FOUND');
    });
    await userEvent.type(await screen.findByLabelText('邮箱'), 'kai@example.com');
    await userEvent.type(screen.getByLabelText('密码'), 'secret password');
    await userEvent.click(screen.getByRole('button', { name: '登录' }));
    expect(await screen.findByText('workspace')).toBeInTheDocument();
    expect(getAccessToken()).toBe('a1');
  });

  it('restores the session from the refresh cookie on load', async () => {
    renderApp('/projects/p1', (request) => {
      const path = new URL(request.url).pathname;
      if (path === '/api/v1/auth/refresh') return envelope({ access: 'restored', refresh: 'r', expiresIn: 900 });
      if (path === '/api/v1/auth/me') return envelope({ user });
      return errorEnvelope(404, 'NOT_FOUND');
    });
    expect(await screen.findByText('workspace')).toBeInTheDocument();
    expect(getAccessToken()).toBe('restored');
  });

  it('shows the error in the chosen language', async () => {
    localStorage.setItem(LANGUAGE_KEY, 'en');
    renderApp('/login', (request) =>
      new URL(request.url).pathname === '/api/v1/auth/login' ? errorEnvelope(401, 'INVALID_CREDENTIALS') : errorEnvelope(401, 'INVALID_TOKEN'),
    );
    await userEvent.type(await screen.findByLabelText('Email'), 'kai@example.com');
    await userEvent.type(screen.getByLabelText('Password'), 'wrong one');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitFor(() => expect(screen.getByRole('alert')).toHaveTextContent('Wrong email or password.'));
  });
});
