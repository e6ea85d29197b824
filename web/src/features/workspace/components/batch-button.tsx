import { useState } from 'react';
import { Button } from '@/components/button';
import { ErrorNote, ProgressBar } from '@/components/feedback';
import { useProject } from '../project-context';
import { batchSlot, generateBatch, type BatchKind } from '../generation';
import { useSlotTask } from '../use-slot-task';

/** Starts a batch ("everything missing of one kind") and shows the parent task's progress. */
export function BatchButton({ kind, label }: { kind: BatchKind; label: string }) {
  const { project, canEdit, reload, editor } = useProject();
  const task = useSlotTask(batchSlot(kind));
  const [error, setError] = useState<unknown>(null);
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
  return (
    <div className="flex min-w-48 flex-col gap-1">
      <Button variant="primary" disabled={!canEdit || !!task} onClick={start}>
        {label}
      </Button>
      {task && <ProgressBar value={task.progress} label={label} />}
      <ErrorNote error={error} />
    </div>
  );
}
