import { useState } from 'react';
import { Button } from '@/components/button';
import { ErrorNote, ProgressBar } from '@/components/feedback';
import { useI18n } from '@/i18n';
import { useProject } from '../project-context';
import { batchSlot, generateBatch, type BatchKind } from '../generation';
import { missingItems } from '../batch-plan';
import { useSlotTask } from '../use-slot-task';

/**
 * Starts a batch ("everything missing of one kind") and shows the parent task's progress. With
 * nothing missing it says so and stays disabled; the count of what it would make is on it.
 */
export function BatchButton({ kind, label }: { kind: BatchKind; label: string }) {
  const { t } = useI18n();
  const { project, canEdit, reload, editor } = useProject();
  const task = useSlotTask(batchSlot(kind));
  const [error, setError] = useState<unknown>(null);
  const missing = missingItems(project, kind);
  const start = async () => {
    setError(null);
    try {
      await editor.flush();
      await generateBatch(project.id, kind);
      await reload();
    } catch (cause) {
      setError(cause);
    }
  };
  const text = task ? label : missing === 0 ? t('batch.allDone') : `${label}（${missing}）`;
  return (
    <div className="flex w-56 max-w-full flex-col gap-1" data-testid={`batch-${kind}`}>
      <Button variant="primary" disabled={!canEdit || !!task || missing === 0} onClick={start} title={missing === 0 ? t('batch.allDoneHint') : undefined}>
        {text}
      </Button>
      {task && <ProgressBar value={task.progress} label={label} remainingSecs={task.remainingSecs} />}
      <ErrorNote error={error} />
    </div>
  );
}
