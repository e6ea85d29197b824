import { useState } from 'react';
import { Button } from '@/components/button';
import { Dialog } from '@/components/dialog';
import { ErrorNote } from '@/components/feedback';
import { useI18n } from '@/i18n';
import { useProject } from '../project-context';

/** Shown when a save met a newer version: the user decides, nothing is dropped silently. */
export function ConflictDialog() {
  const { t } = useI18n();
  const { editor, state } = useProject();
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
      <p className="text-sm text-stone-700">{t('conflict.body', { version: state.conflictVersion ?? '?' })}</p>
      <ErrorNote error={error} />
    </Dialog>
  );
}
