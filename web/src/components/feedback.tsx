// Small shared pieces of feedback: spinner, progress bar, empty state, error note, status badge.
import type { ReactNode } from 'react';
import { Link } from 'react-router';
import { useI18n, errorMessage, failureMessage, formatWait, type MessageKey } from '@/i18n';

export function Spinner({ label }: { label?: string }) {
  return (
    <span role="status" className="inline-flex items-center gap-2 text-sm text-stone-500">
      <span className="h-4 w-4 animate-spin rounded-full border-2 border-stone-300 border-t-amber-500" />
      {label}
    </span>
  );
}

export function ProgressBar({ value, label, remainingSecs }: { value: number; label?: string; remainingSecs?: number }) {
  const { t } = useI18n();
  const clamped = Math.max(0, Math.min(100, Math.round(value)));
  const bar = (
    <div
      role="progressbar"
      aria-valuenow={clamped}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-label={label}
      aria-valuetext={remainingSecs ? `${clamped}%, ${t('task.remaining', { when: formatWait(t, remainingSecs) })}` : undefined}
      className="h-1.5 w-full overflow-hidden rounded-full bg-stone-200"
    >
      <div className="h-full rounded-full bg-amber-500 transition-[width]" style={{ width: `${clamped}%` }} />
    </div>
  );
  if (!remainingSecs) return bar;
  return (
    <div className="flex w-full flex-col gap-0.5">
      {bar}
      <span className="text-[11px] text-stone-500" data-testid="time-left">
        {t('task.remaining', { when: formatWait(t, remainingSecs) })}
      </span>
    </div>
  );
}

export function EmptyState({ children, action }: { children: ReactNode; action?: ReactNode }) {
  return (
    <div className="flex flex-col items-center gap-3 rounded-lg border border-dashed border-stone-300 bg-white/60 px-6 py-12 text-center text-sm text-stone-500">
      <p>{children}</p>
      {action}
    </div>
  );
}

/** The error's code, from the API's envelope or a failed task's `{code, message}`. */
function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function ErrorNote({ error }: { error: unknown }) {
  const { t } = useI18n();
  if (!error) return null;
  return (
    <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-700">
      {errorMessage(t, error)}
      <KeySettingsLink code={codeOf(error)} />
    </p>
  );
}

/** Where keys are entered, after an error that says a provider has none. */
function KeySettingsLink({ code }: { code: string | undefined }) {
  const { t } = useI18n();
  if (code !== 'PROVIDER_NOT_CONFIGURED') return null;
  return (
    <>
      {' '}
      <Link to="/settings" className="font-medium underline">
        {t('errors.enterKey')}
      </Link>
    </>
  );
}

/**
 * A failed generation, on the slot it failed for: what happened and what to do, in the creator's
 * words, with the server's or vendor's own words beneath for whoever needs them.
 */
export function TaskFailure({ error }: { error: { code: string; message: string } | null | undefined }) {
  const { t } = useI18n();
  if (!error) return null;
  return (
    <div role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-700" data-testid="task-failure" data-code={error.code}>
      <p>
        {failureMessage(t, error.code)}
        <KeySettingsLink code={error.code} />
      </p>
      {error.message && <p className="mt-0.5 text-xs break-words text-red-700/75">{error.message}</p>}
    </div>
  );
}

const tones: Record<string, string> = {
  completed: 'bg-emerald-100 text-emerald-800',
  failed: 'bg-red-100 text-red-700',
  cancelled: 'bg-stone-200 text-stone-600',
  running: 'bg-amber-100 text-amber-800',
  generating: 'bg-amber-100 text-amber-800',
  pending: 'bg-stone-100 text-stone-600',
};

/**
 * A status as a badge. A slot of the documents (`of="slot"`) that is `pending` was never
 * generated, which reads differently from a task waiting in the queue.
 */
export function StatusBadge({ status, of = 'task' }: { status: string; of?: 'task' | 'slot' }) {
  const { t } = useI18n();
  const key = (of === 'slot' && status === 'pending' ? 'status.notGenerated' : `status.${status}`) as MessageKey;
  return (
    <span className={`rounded px-1.5 py-0.5 text-[11px] font-medium ${tones[status] ?? tones.pending}`} data-status={status}>
      {t(key)}
    </span>
  );
}
