import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '@/api/client';
import { EmptyState, ErrorNote, ProgressBar, Spinner } from '@/components/feedback';
import { useAuth } from '@/features/auth/auth-provider';
import { useI18n, type MessageKey } from '@/i18n';
import { formatBytes } from '@/lib/format';
import { BudgetPanel } from '@/features/takes/budget-panel';
import { SpendChart } from '@/features/takes/spend-chart';

const USAGE_DAYS = 30;

interface ProviderUsage {
  calls?: number;
  units?: Record<string, number>;
}

export function AccountPage() {
  const { t } = useI18n();
  const { user } = useAuth();
  const storage = useQuery({ queryKey: ['storage', 'usage'], queryFn: () => unwrap(api.GET('/api/v1/storage/usage')) });
  const usage = useQuery({
    queryKey: ['usage', USAGE_DAYS],
    queryFn: () => unwrap(api.GET('/api/v1/usage', { params: { query: { days: USAGE_DAYS } } })),
  });
  const providers = Object.entries((usage.data?.providers ?? {}) as Record<string, ProviderUsage>);
  // A kind the app has no words for yet shows as the server names it, never as a raw key.
  const label = (key: string, fallback: string, vars?: Record<string, number>) => {
    const text = t(key as MessageKey, vars);
    return text === key ? fallback : text;
  };

  return (
    <div className="mx-auto flex max-w-4xl flex-col gap-5 px-6 py-8">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">{t('account.title')}</h1>
        <p className="text-sm text-stone-600">
          {user?.name} · {user?.email}
        </p>
      </div>
      <section className="flex flex-col gap-3 rounded-lg border border-stone-200 bg-white p-4">
        <h2 className="font-semibold">{t('account.storage')}</h2>
        {storage.data ? (
          <>
            <ProgressBar value={storage.data.percent} label={t('account.storage')} />
            <p className="text-sm text-stone-600" data-testid="storage-used">
              {t('account.storageUsed', { used: formatBytes(storage.data.used), total: formatBytes(storage.data.total), percent: storage.data.percent.toFixed(1) })}
            </p>
            <ul className="grid grid-cols-2 gap-2 text-xs text-stone-600 md:grid-cols-4">
              {Object.entries(storage.data.by_type).map(([kind, figures]) => (
                <li key={kind} className="rounded bg-stone-50 px-2 py-1">
                  {label(`fileKind.${kind}`, kind)}: {formatBytes(figures.bytes)} · {t('account.files', { n: figures.files })}
                </li>
              ))}
            </ul>
          </>
        ) : (
          <Spinner />
        )}
        <ErrorNote error={storage.error} />
      </section>
      <section className="flex flex-col gap-3 rounded-lg border border-stone-200 bg-white p-4">
        <h2 className="font-semibold">{t('account.usage', { days: USAGE_DAYS })}</h2>
        {usage.isPending ? (
          <Spinner />
        ) : providers.length === 0 ? (
          <EmptyState>{t('account.usageEmpty')}</EmptyState>
        ) : (
          <table className="text-sm">
            <thead className="text-left text-xs text-stone-500">
              <tr>
                <th className="py-1">{t('account.provider')}</th>
                <th>{t('account.calls')}</th>
                <th>{t('account.units')}</th>
              </tr>
            </thead>
            <tbody>
              {providers.map(([name, figures]) => (
                <tr key={name} className="border-t border-stone-100">
                  <td className="py-1 font-medium">{name}</td>
                  <td>{figures.calls ?? 0}</td>
                  <td className="text-xs text-stone-600">
                    {Object.entries(figures.units ?? {})
                      .map(([kind, n]) => label(`units.${kind}`, `${kind} ${n}`, { n }))
                      .join(' · ')}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <ErrorNote error={usage.error} />
      </section>
      <SpendChart days={USAGE_DAYS} />
      <BudgetPanel />
    </div>
  );
}
