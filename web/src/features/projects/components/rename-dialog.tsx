import { useState, type FormEvent } from 'react';
import { Button } from '@/components/button';
import { Dialog } from '@/components/dialog';
import { TextField } from '@/components/field';
import { ErrorNote } from '@/components/feedback';
import { useI18n } from '@/i18n';
import type { ProjectListItem } from '@/api/types';
import { useQuickUpdate } from '../api/projects';

export function RenameDialog({ item, onClose }: { item: ProjectListItem; onClose: () => void }) {
  const { t } = useI18n();
  const update = useQuickUpdate();
  const [title, setTitle] = useState(item.title);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    update.mutate({ item, change: { title: title.trim() } }, { onSuccess: onClose });
  };
  return (
    <Dialog title={t('dashboard.rename')} onClose={onClose}>
      <form className="flex flex-col gap-4" onSubmit={submit}>
        <TextField label={t('project.title')} required maxLength={200} value={title} onChange={(e) => setTitle(e.target.value)} />
        <ErrorNote error={update.error} />
        <div className="flex justify-end gap-2">
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" variant="primary" disabled={update.isPending || !title.trim()}>
            {t('common.save')}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
