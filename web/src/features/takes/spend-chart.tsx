// What was spent per day, one bar per day and currency (currencies are never added together),
// with the totals and a CSV export.
import { useQuery } from '@tanstack/react-query';
import { EmptyState, ErrorNote, Spinner } from '@/components/feedback';
import { useI18n } from '@/i18n';
import { downloadAuthed } from '@/api/download';
import { money, spending } from './takes-api';

const COLORS: Record<string, string> = { USD: 'bg-amber-500', CNY: 'bg-sky-500' };

export function SpendChart({ days = 30 }: { days?: number }) {
  const { t } = useI18n();
  const report = useQuery({ queryKey: ['spending', days, 'day'], queryFn: () => spending(days, 'day') });
  const groups = [...(report.data?.groups ?? [])].reverse();
  const highest: Record<string, number> = {};
  for (const group of groups) {
    for (const total of group.totals) highest[total.currency] = Math.max(highest[total.currency] ?? 0, total.micros);
  }
  const download = () => downloadAuthed(`/api/v1/usage/spending.csv?days=${days}`, `cinegen-spending-${days}d.csv`);
  return (
    <section className="flex flex-col gap-3 rounded-lg border border-stone-200 bg-white p-4" data-testid="spend-chart">
      <div className="flex items-center gap-2">
        <h2 className="mr-auto font-semibold">{t('spend.title', { days })}</h2>
        <button type="button" className="text-xs text-amber-800 underline" onClick={() => void download()}>
          {t('spend.csv')}
        </button>
      </div>
      {report.isPending ? (
        <Spinner />
      ) : groups.length === 0 ? (
        <EmptyState>{t('spend.empty')}</EmptyState>
      ) : (
        <>
          <div className="flex h-32 items-end gap-1" role="img" aria-label={t('spend.title', { days })}>
            {groups.map((group) => (
              <div key={group.key} className="flex h-full flex-1 items-end gap-px" title={`${group.key}: ${group.totals.map(money).join(' + ')}`}>
                {group.totals.map((total) => (
                  <div
                    key={total.currency}
                    data-testid="spend-bar"
                    className={`flex-1 rounded-t ${COLORS[total.currency] ?? 'bg-stone-400'}`}
                    style={{ height: `${Math.max(4, (total.micros / Math.max(1, highest[total.currency])) * 100)}%` }}
                  />
                ))}
              </div>
            ))}
          </div>
          <p className="text-sm text-stone-700" data-testid="spend-total">
            {(report.data?.totals ?? []).map(money).join(' + ') || money({ amount: '0', currency: 'USD' })}
            {(report.data?.unpriced_calls ?? 0) > 0 && ` · ${t('spend.unpriced', { n: report.data?.unpriced_calls ?? 0 })}`}
          </p>
        </>
      )}
      <ErrorNote error={report.error} />
    </section>
  );
}
