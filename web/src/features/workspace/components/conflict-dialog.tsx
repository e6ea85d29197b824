import { useState } from 'react';
import { Button } from '@/components/button';
import { Dialog } from '@/components/dialog';
import { ErrorNote } from '@/components/feedback';
import { useI18n, type MessageKey } from '@/i18n';
import { useCurrentUser } from '@/features/auth/auth-provider';
import { useProject } from '../project-context';

/** Shown when a save met a newer version: the user decides, nothing is dropped silently. */
export function ConflictDialog() {
  const { t } = useI18n();
  const { editor, state } = useProject();
  const user = useCurrentUser();
  // Where the other change came from: this person elsewhere, someone else, or a generation.
  const source = state.conflictBy === null ? 'conflict.byGeneration' : state.conflictBy === user?.id ? 'conflict.byYou' : 'conflict.byOther';
  const fields = state.conflictFields.map((field) => t(`conflict.field.${field}` as MessageKey)).join('、');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = (action: () => Promise<void>) => async () => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (cause) {
      setError(cause);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog
      title={t('conflict.title')}
      onClose={() => undefined}
      footer={
        <>
          <Button disabled={busy} onClick={run(() => editor.reload())}>
            {t('conflict.reload')}
          </Button>
          <Button variant="primary" disabled={busy} onClick={run(() => editor.keepMine())}>
            {t('conflict.keep')}
          </Button>
        </>
      }
    >
      <p className="text-sm text-stone-700" data-testid="conflict-source">{t(source as MessageKey)}</p>
      {fields && (
        <p className="text-sm font-medium text-stone-900" data-testid="conflict-fields">
          {t('conflict.fields', { fields })}
        </p>
      )}
      <p className="text-sm text-stone-700">{t('conflict.body', { version: state.conflictVersion ?? '?' })}</p>
      <ErrorNote error={error} />
    </Dialog>
  );
}
