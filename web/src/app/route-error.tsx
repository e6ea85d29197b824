import { Link, useRouteError } from 'react-router';
import { useI18n } from '@/i18n';

/** What a page shows when it fails to render: an apology in the user's language and a way back. */
export function RouteError() {
  const error = useRouteError();
  const { t } = useI18n();
  console.error(error);
  return (
    <div className="flex min-h-screen flex-col items-center justify-center gap-3 p-8 text-center">
      <p className="text-lg font-semibold">{t('errors.UNKNOWN_ERROR')}</p>
      <p className="max-w-lg text-sm text-stone-500">{error instanceof Error ? error.message : String(error)}</p>
      <Link to="/" className="text-sm font-medium text-amber-700 hover:underline">
        ← {t('workspace.back')}
      </Link>
    </div>
  );
}
