import { Dialog } from '@/components/dialog';
import { TextField } from '@/components/field';
import { useI18n } from '@/i18n';
import { SettingsFields } from '@/features/projects/components/settings-fields';
import { useProject } from '../project-context';
import { BudgetPanel } from '@/features/takes/budget-panel';

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
        <label className="flex flex-col gap-1 text-xs font-medium text-stone-600">
          {t('project.keepTakes')}
          <input
            type="number"
            min={1}
            max={50}
            disabled={!canEdit}
            value={project.keep_takes}
            onChange={(e) => {
              const n = Number(e.target.value);
              if (Number.isInteger(n) && n >= 1 && n <= 50) change({ keep_takes: n });
            }}
            className="w-24 rounded-md border border-stone-300 px-2 py-1 text-sm"
          />
          <span className="font-normal text-stone-500">{t('project.keepTakesHint')}</span>
        </label>
        <label className="flex items-start gap-2 text-sm text-stone-700">
          <input
            type="checkbox"
            className="mt-1"
            checked={project.ai_label}
            disabled={project.role !== 'owner'}
            onChange={(e) => change({ ai_label: e.target.checked })}
          />
          <span className="flex flex-col gap-0.5">
            {t('project.aiLabel')}
            <span className="text-xs text-stone-500">{t(project.role === 'owner' ? 'project.aiLabelHint' : 'project.aiLabelOwner')}</span>
          </span>
        </label>
        <BudgetPanel projectId={project.id} canEdit={project.role === 'owner'} />
      </div>
    </Dialog>
  );
}
