// The frame of the pages outside a project: header with navigation, language and account.
import { NavLink, Outlet, useNavigate } from 'react-router';
import { useAuth } from '@/features/auth/auth-provider';
import { LanguageSwitch } from '@/components/language-switch';
import { useI18n } from '@/i18n';

const linkClass = ({ isActive }: { isActive: boolean }) =>
  `rounded-md px-3 py-1.5 text-sm ${isActive ? 'bg-stone-900 text-white' : 'text-stone-600 hover:bg-stone-200/70'}`;

export function AppLayout() {
  const { t } = useI18n();
  const { user, logout } = useAuth();
  const navigate = useNavigate();
  return (
    <div className="min-h-screen">
      <header className="sticky top-0 z-30 border-b border-stone-200 bg-white/90 backdrop-blur">
        <div className="mx-auto flex max-w-6xl items-center gap-2 px-6 py-3">
          <span className="mr-4 font-semibold tracking-tight">
            CineGen <span className="text-stone-500">· {t('app.name')}</span>
          </span>
          <nav className="flex gap-1">
            <NavLink to="/" end className={linkClass}>
              {t('nav.projects')}
            </NavLink>
            <NavLink to="/settings" className={linkClass}>
              {t('nav.settings')}
            </NavLink>
            <NavLink to="/account" className={linkClass}>
              {t('nav.account')}
            </NavLink>
          </nav>
          <div className="ml-auto flex items-center gap-3">
            <LanguageSwitch />
            <span className="text-sm text-stone-600" data-testid="user-name">
              {user?.name}
            </span>
            <button
              type="button"
              className="text-sm text-stone-500 hover:text-stone-900"
              onClick={async () => {
                await logout();
                navigate('/login');
              }}
            >
              {t('auth.logout')}
            </button>
          </div>
        </div>
      </header>
      <main>
        <Outlet />
      </main>
    </div>
  );
}
