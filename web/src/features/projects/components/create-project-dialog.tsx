import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { Button } from '@/components/button';
import { Dialog } from '@/components/dialog';
import { TextField } from '@/components/field';
import { ErrorNote } from '@/components/feedback';
import { useI18n } from '@/i18n';
import { useCreateProject } from '../api/projects';
import { SettingsFields, type SettingsValues } from './settings-fields';

export function CreateProjectDialog({ onClose }: { onClose: () => void }) {
  const { t, lang } = useI18n();
  const navigate = useNavigate();
  const create = useCreateProject();
  const [title, setTitle] = useState('');
  const [settings, setSettings] = useState<SettingsValues>({
    target_duration: '60s',
    language: lang,
    visual_style: 'xianxia',
    image_size: '1440x2560',
    image_count: 4,
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({ title: title.trim(), ...settings }, { onSuccess: (project) => navigate(`/projects/${project.id}/script`) });
  };

  return (
    <Dialog title={t('dashboard.new')} onClose={onClose} wide>
      <form className="flex flex-col gap-4" onSubmit={submit}>
        <TextField label={t('project.title')} required maxLength={200} value={title} onChange={(e) => setTitle(e.target.value)} />
        <SettingsFields values={settings} onChange={(change) => setSettings((s) => ({ ...s, ...change }))} />
        <ErrorNote error={create.error} />
        <div className="flex justify-end gap-2">
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" variant="primary" disabled={create.isPending || !title.trim()}>
            {t('project.create')}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
