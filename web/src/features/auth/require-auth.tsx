import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';
import { useAuth } from './auth-provider';
import { Spinner } from '@/components/feedback';
import { useI18n } from '@/i18n';

/** Renders its children for a signed-in user; otherwise sends them to sign in, remembering where they were going. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const { status } = useAuth();
  const { t } = useI18n();
  const location = useLocation();
  if (status === 'restoring') {
    return (
      <div className="flex h-screen items-center justify-center">
        <Spinner label={t('auth.restoring')} />
      </div>
    );
  }
  if (status === 'signed-out') {
    const from = `${location.pathname}${location.search}`;
    return <Navigate to="/login" replace state={{ from }} />;
  }
  return <>{children}</>;
}
