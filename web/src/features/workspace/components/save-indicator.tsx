import { useI18n } from '@/i18n';
import { useProject } from '../project-context';
import { errorMessage } from '@/i18n';

/** The save status; `compact` (a folded sidebar) shows the dot, with the words for screen readers and on hover. */
export function SaveIndicator({ compact = false }: { compact?: boolean }) {
  const { t } = useI18n();
  const { state, editor } = useProject();
  const text = {
    saved: t('common.saved'),
    dirty: t('common.unsaved'),
    saving: t('common.saving'),
    conflict: t('errors.CONFLICT'),
    error: errorMessage(t, state.error),
  }[state.status];
  return (
    <p className="flex items-center gap-2 text-xs text-stone-500" data-testid="save-status" data-status={state.status} aria-live="polite" title={compact ? text : undefined}>
      <span className={`h-2 w-2 rounded-full ${state.status === 'saved' ? 'bg-emerald-500' : state.status === 'error' || state.status === 'conflict' ? 'bg-red-500' : 'bg-amber-400'}`} />
      <span className={compact ? 'sr-only' : 'truncate'}>{text}</span>
      {state.status === 'error' && !compact && (
        <button type="button" className="underline" onClick={() => void editor.flush()}>
          {t('common.retry')}
        </button>
      )}
    </p>
  );
}
