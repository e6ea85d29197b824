// Monthly caps per currency with this month's use: the account's own, or a project's (its owner
// edits; members read).
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Button } from '@/components/button';
import { ErrorNote, Spinner } from '@/components/feedback';
import { useI18n } from '@/i18n';
import type { BudgetView } from '@/api/types';
import { money, myBudget, projectBudget, setMyBudget, setProjectBudget } from './takes-api';

const CURRENCIES = ['USD', 'CNY'] as const;

interface BudgetPanelProps {
  /** A project's budget; else the account's. */
  projectId?: string;
  canEdit?: boolean;
}

/** `"10.000000"` shown as `10`, `"0.250000"` as `0.25`. */
function plain(amount: string | null | undefined): string {
  if (!amount) return '';
  return amount.replace(/\.?0+$/, '');
}

export function BudgetPanel({ projectId, canEdit = true }: BudgetPanelProps) {
  const { t } = useI18n();
  const queries = useQueryClient();
  const key = ['budget', projectId ?? 'me'];
  const budget = useQuery({ queryKey: key, queryFn: () => (projectId ? projectBudget(projectId) : myBudget()) });
  const [caps, setCaps] = useState<Record<string, string>>({ USD: '', CNY: '' });
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (!budget.data) return;
    const next: Record<string, string> = { USD: '', CNY: '' };
    for (const line of budget.data.budgets) next[line.currency] = plain(line.monthly_cap);
    setCaps(next);
  }, [budget.data]);
  const save = useMutation({
    mutationFn: (): Promise<BudgetView> => {
      const monthly = Object.fromEntries(CURRENCIES.map((c) => [c, caps[c].trim() === '' ? null : caps[c].trim()]));
      return projectId ? setProjectBudget(projectId, monthly) : setMyBudget(monthly);
    },
    onSuccess: (view) => {
      queries.setQueryData(key, view);
      setSaved(true);
    },
  });
  return (
    <section className="flex flex-col gap-3 rounded-lg border border-stone-200 bg-white p-4" data-testid={projectId ? 'project-budget' : 'account-budget'}>
      <h2 className="font-semibold">{projectId ? t('budget.projectTitle') : t('budget.title')}</h2>
      <p className="text-xs text-stone-600">{t('budget.hint')}</p>
      {budget.isPending ? (
        <Spinner />
      ) : (
        <div className="flex flex-col gap-2">
          {CURRENCIES.map((currency) => {
            const line = budget.data?.budgets.find((b) => b.currency === currency);
            return (
              <div key={currency} className="flex flex-wrap items-end gap-3">
                <label className="flex flex-col gap-1 text-xs font-medium text-stone-600">
                  {t('budget.cap', { currency })}
                  <input
                    inputMode="decimal"
                    disabled={!canEdit}
                    value={caps[currency]}
                    onChange={(e) => {
                      setSaved(false);
                      setCaps({ ...caps, [currency]: e.target.value });
                    }}
                    className="w-32 rounded-md border border-stone-300 px-2 py-1 text-sm"
                    aria-label={t('budget.cap', { currency })}
                  />
                </label>
                {line && (
                  <p className="text-xs text-stone-600" data-testid={`budget-use-${currency}`}>
                    {t('budget.used', { spent: money({ amount: line.spent, currency }), held: money({ amount: line.held, currency }) })}
                    {line.remaining && ` · ${t('budget.remaining', { remaining: money({ amount: line.remaining, currency }) })}`}
                  </p>
                )}
              </div>
            );
          })}
          {canEdit && (
            <div className="flex items-center gap-2">
              <Button size="sm" variant="primary" disabled={save.isPending} onClick={() => save.mutate()}>
                {t('common.save')}
              </Button>
              {saved && <span className="text-xs text-emerald-700">{t('budget.saved')}</span>}
            </div>
          )}
        </div>
      )}
      <ErrorNote error={budget.error ?? save.error} />
    </section>
  );
}
