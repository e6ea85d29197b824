// Undo and redo of document edits, as buttons and as Ctrl/⌘+Z, Ctrl/⌘+Shift+Z and Ctrl+Y. Inside
// a text field the keys are left to the field's own undo of typing.
import { useEffect } from 'react';
import { useI18n } from '@/i18n';
import { useProject } from '../project-context';

function typingIn(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

export function UndoControls({ compact = false }: { compact?: boolean }) {
  const { t } = useI18n();
  const { editor, state, canEdit } = useProject();

  useEffect(() => {
    if (!canEdit) return;
    const onKey = (event: KeyboardEvent) => {
      if (!(event.ctrlKey || event.metaKey) || event.altKey || typingIn(event.target)) return;
      const key = event.key.toLowerCase();
      if (key === 'z' && !event.shiftKey) editor.undo();
      else if ((key === 'z' && event.shiftKey) || key === 'y') editor.redo();
      else return;
      event.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [editor, canEdit]);

  if (!canEdit) return null;
  const button = 'rounded-md px-2 py-1 text-sm text-stone-700 hover:bg-stone-100 disabled:opacity-40 disabled:hover:bg-transparent';
  return (
    <div className="flex gap-1">
      <button type="button" className={button} disabled={!state.canUndo} onClick={() => editor.undo()} title={t('common.undoHint')} aria-label={t('common.undo')}>
        ↶{!compact && ` ${t('common.undo')}`}
      </button>
      <button type="button" className={button} disabled={!state.canRedo} onClick={() => editor.redo()} title={t('common.redoHint')} aria-label={t('common.redo')}>
        ↷{!compact && ` ${t('common.redo')}`}
      </button>
    </div>
  );
}
