import { useI18n } from '@/i18n';
import { useProject } from '../project-context';
import { errorMessage } from '@/i18n';

export function SaveIndicator() {
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
    <p className="flex items-center gap-2 text-xs text-stone-500" data-testid="save-status" data-status={state.status} aria-live="polite">
      <span className={`h-2 w-2 rounded-full ${state.status === 'saved' ? 'bg-emerald-500' : state.status === 'error' || state.status === 'conflict' ? 'bg-red-500' : 'bg-amber-400'}`} />
      <span className="truncate">{text}</span>
      {state.status === 'error' && (
        <button type="button" className="underline" onClick={() => void editor.flush()}>
          {t('common.retry')}
        </button>
      )}
    </p>
  );
}
