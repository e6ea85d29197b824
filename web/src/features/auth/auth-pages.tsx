import { useState, type FormEvent } from 'react';
import { Link, Navigate, useLocation, useNavigate } from 'react-router';
import { useAuth } from './auth-provider';
import { Button } from '@/components/button';
import { TextField } from '@/components/field';
import { ErrorNote } from '@/components/feedback';
import { LanguageSwitch } from '@/components/language-switch';
import { useI18n } from '@/i18n';

function useReturnPath(): string {
  const state = useLocation().state as { from?: string } | null;
  return state?.from && state.from !== '/login' && state.from !== '/register' ? state.from : '/';
}

function AuthFrame({ title, children }: { title: string; children: React.ReactNode }) {
  const { t } = useI18n();
  return (
    <main className="flex min-h-screen items-center justify-center bg-stone-100 px-4">
      <div className="w-full max-w-sm">
        <div className="mb-6 flex items-center justify-between">
          <div>
            <p className="text-lg font-semibold tracking-tight">CineGen · {t('app.name')}</p>
            <p className="text-xs text-stone-600">{t('app.tagline')}</p>
          </div>
          <LanguageSwitch />
        </div>
        <section className="rounded-lg border border-stone-200 bg-white p-6 shadow-sm">
          <h1 className="mb-4 text-xl font-semibold">{title}</h1>
          {children}
        </section>
      </div>
    </main>
  );
}

export function LoginPage() {
  const { t } = useI18n();
  const { login, status } = useAuth();
  const navigate = useNavigate();
  const returnPath = useReturnPath();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  if (status === 'signed-in') return <Navigate to={returnPath} replace />;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(email, password);
      navigate(returnPath, { replace: true });
    } catch (cause) {
      setError(cause);
    } finally {
      setBusy(false);
    }
  };

  return (
    <AuthFrame title={t('auth.welcome')}>
      <form className="flex flex-col gap-4" onSubmit={submit}>
        <TextField label={t('auth.email')} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        <TextField label={t('auth.password')} type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        <ErrorNote error={error} />
        <Button type="submit" variant="primary" disabled={busy}>
          {t('auth.login')}
        </Button>
        <p className="text-center text-sm text-stone-600">
          {t('auth.noAccount')}{' '}
          <Link to="/register" state={{ from: returnPath }} className="font-medium text-amber-700 hover:underline">
            {t('auth.register')}
          </Link>
        </p>
      </form>
    </AuthFrame>
  );
}

export function RegisterPage() {
  const { t } = useI18n();
  const { register, status } = useAuth();
  const navigate = useNavigate();
  const returnPath = useReturnPath();
  // An invitation's link names the address it was sent to.
  const { search } = useLocation();
  const [email, setEmail] = useState(() => new URLSearchParams(search).get('email') ?? '');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  if (status === 'signed-in') return <Navigate to={returnPath} replace />;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await register(email, password, name);
      navigate(returnPath, { replace: true });
    } catch (cause) {
      setError(cause);
    } finally {
      setBusy(false);
    }
  };

  return (
    <AuthFrame title={t('auth.createAccount')}>
      <form className="flex flex-col gap-4" onSubmit={submit}>
        <TextField label={t('auth.name')} autoComplete="nickname" required maxLength={64} value={name} onChange={(e) => setName(e.target.value)} />
        <TextField label={t('auth.email')} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        <TextField
          label={t('auth.password')}
          hint={t('auth.passwordHint')}
          type="password"
          autoComplete="new-password"
          required
          minLength={8}
          maxLength={128}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <ErrorNote error={error} />
        <Button type="submit" variant="primary" disabled={busy}>
          {t('auth.register')}
        </Button>
        <p className="text-center text-sm text-stone-600">
          {t('auth.haveAccount')}{' '}
          <Link to="/login" state={{ from: returnPath }} className="font-medium text-amber-700 hover:underline">
            {t('auth.login')}
          </Link>
        </p>
      </form>
    </AuthFrame>
  );
}
