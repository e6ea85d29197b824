import { Dialog } from '@/components/dialog';
import { TextField } from '@/components/field';
import { useI18n } from '@/i18n';
import { SettingsFields } from '@/features/projects/components/settings-fields';
import { useProject } from '../project-context';

/** Project settings, autosaved like every other edit. */
export function ProjectSettingsDialog({ onClose }: { onClose: () => void }) {
  const { t } = useI18n();
  const { project, change, canEdit } = useProject();
  return (
    <Dialog title={t('project.settings')} onClose={onClose} wide>
      <div className="flex flex-col gap-4">
        <TextField label={t('project.title')} disabled={!canEdit} value={project.title} maxLength={200} onChange={(e) => change({ title: e.target.value })} />
        <TextField label={t('project.genre')} disabled={!canEdit} value={project.genre} onChange={(e) => change({ genre: e.target.value })} />
        <SettingsFields values={project} disabled={!canEdit} onChange={change} />
      </div>
    </Dialog>
  );
}
