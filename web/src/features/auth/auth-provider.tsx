// The signed-in user. On load the session is restored from the refresh cookie, so a reload keeps
// the user signed in although the access token is held in memory only.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '@/api/client';
import { onTokenChange, refreshAccessToken, setAccessToken } from '@/api/token-store';
import type { User } from '@/api/types';

type Status = 'restoring' | 'signed-in' | 'signed-out';

interface Auth {
  status: Status;
  user: User | null;
  login: (email: string, password: string) => Promise<void>;
  register: (email: string, password: string, name: string) => Promise<void>;
  logout: () => Promise<void>;
  reloadUser: () => Promise<void>;
}

const AuthContext = createContext<Auth | null>(null);

async function fetchMe(): Promise<User> {
  return (await unwrap(api.GET('/api/v1/auth/me'))).user;
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<Status>('restoring');
  const [user, setUser] = useState<User | null>(null);

  useEffect(() => {
    let live = true;
    (async () => {
      const token = await refreshAccessToken();
      const me = token ? await fetchMe().catch(() => null) : null;
      if (!live) return;
      setUser(me);
      setStatus(me ? 'signed-in' : 'signed-out');
    })();
    return () => {
      live = false;
    };
  }, []);

  // A refresh that fails (session revoked, cookie expired) signs the user out everywhere in the app.
  useEffect(
    () =>
      onTokenChange((token) => {
        if (!token) {
          setUser(null);
          setStatus((current) => (current === 'restoring' ? current : 'signed-out'));
        }
      }),
    [],
  );

  const signedIn = useCallback((session: { user: User; tokens: { access: string; expiresIn: number } }) => {
    setAccessToken(session.tokens.access, session.tokens.expiresIn);
    setUser(session.user);
    setStatus('signed-in');
  }, []);

  const login = useCallback(
    async (email: string, password: string) => {
      signedIn(await unwrap(api.POST('/api/v1/auth/login', { body: { email, password } })));
    },
    [signedIn],
  );

  const register = useCallback(
    async (email: string, password: string, name: string) => {
      signedIn(await unwrap(api.POST('/api/v1/auth/register', { body: { email, password, name } })));
    },
    [signedIn],
  );

  const logout = useCallback(async () => {
    await unwrap(api.POST('/api/v1/auth/logout')).catch(() => undefined);
    setAccessToken(null);
    queryClient.clear();
  }, [queryClient]);

  const reloadUser = useCallback(async () => {
    setUser(await fetchMe());
  }, []);

  const value = useMemo(
    () => ({ status, user, login, register, logout, reloadUser }),
    [status, user, login, register, logout, reloadUser],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const value = useContext(AuthContext);
  if (!value) throw new Error('useAuth outside AuthProvider');
  return value;
}

/** The signed-in account, or null (signed out, or outside the provider as in component tests). */
export function useCurrentUser(): Auth['user'] | null {
  return useContext(AuthContext)?.user ?? null;
}
