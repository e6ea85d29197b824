import { useState } from 'react';
import { Button } from '@/components/button';
import { Dialog } from '@/components/dialog';
import { ErrorNote, ProgressBar } from '@/components/feedback';
import { useI18n } from '@/i18n';
import type { Estimate, Project } from '@/api/types';
import { estimate as estimateOf, money } from '@/features/takes/takes-api';
import { useProject } from '../project-context';
import { batchSlot, generateBatch, type BatchKind } from '../generation';
import { missingItems } from '../batch-plan';
import { useSlotTask } from '../use-slot-task';

/** Slots of a kind whose chosen take is stale (the server marks them). */
export function staleItems(project: Project, kind: BatchKind): number {
  const data = project.script_data;
  switch (kind) {
    case 'images':
      return (
        (data?.characters ?? []).reduce((n, c) => n + (c.stale ? 1 : 0) + c.variations.filter((v) => v.stale).length, 0) +
        (data?.scenes ?? []).filter((s) => s.stale).length
      );
    case 'keyframes':
      return project.shots.reduce((n, shot) => n + shot.keyframes.filter((k) => k.stale).length, 0);
    case 'clips':
      return project.shots.filter((shot) => shot.interval?.stale).length;
    case 'voices':
      return project.shots.filter((shot) => shot.voice?.stale).length;
  }
}

/** The estimate in words: calls, cost per currency, time. */
export function EstimateSummary({ estimate }: { estimate: Estimate }) {
  const { t } = useI18n();
  const cost = estimate.totals.filter((total) => total.micros > 0).map(money).join(' + ') || t('estimate.free');
  const minutes = Math.max(1, Math.round(estimate.estimated_secs / 60));
  const time = estimate.estimated_secs < 60 ? `${Math.max(1, estimate.estimated_secs)} s` : `${minutes} min`;
  return (
    <p className="text-sm text-stone-700" data-testid="estimate">
      {t('estimate.body', { calls: estimate.calls, cost, time })}
      {estimate.unpriced_calls > 0 && t('estimate.unpriced', { n: estimate.unpriced_calls })}
    </p>
  );
}

/**
 * Starts a batch ("everything missing of one kind", or only what is stale) after showing what it
 * is expected to cost and take, and shows the parent task's progress. With nothing missing it
 * says so and stays disabled; the count of what it would make is on it.
 */
export function BatchButton({ kind, label }: { kind: BatchKind; label: string }) {
  const { t } = useI18n();
  const { project, canEdit, reload, editor } = useProject();
  const task = useSlotTask(batchSlot(kind));
  const [error, setError] = useState<unknown>(null);
  const [asking, setAsking] = useState<{ stale: boolean; estimate: Estimate } | null>(null);
  const [fitBudget, setFitBudget] = useState(false);
  const [busy, setBusy] = useState(false);
  const missing = missingItems(project, kind);
  const stale = staleItems(project, kind);
  const ask = async (onlyStale: boolean) => {
    setError(null);
    setBusy(true);
    try {
      await editor.flush();
      const found = await estimateOf({ project_id: project.id, operation: 'batch', kind, stale: onlyStale });
      setAsking({ stale: onlyStale, estimate: found });
    } catch (cause) {
      setError(cause);
    } finally {
      setBusy(false);
    }
  };
  const start = async () => {
    if (!asking) return;
    const { stale: onlyStale } = asking;
    setAsking(null);
    try {
      await generateBatch(project.id, kind, undefined, { stale: onlyStale, fitBudget });
      await reload();
    } catch (cause) {
      setError(cause);
    }
  };
  const text = task ? label : missing === 0 ? t('batch.allDone') : `${label}（${missing}）`;
  return (
    <div className="flex w-56 max-w-full flex-col gap-1">
      <div className="flex flex-col gap-1" data-testid={`batch-${kind}`}>
        <Button variant="primary" disabled={!canEdit || !!task || missing === 0 || busy} onClick={() => void ask(false)} title={missing === 0 ? t('batch.allDoneHint') : undefined}>
          {text}
        </Button>
        {task && <ProgressBar value={task.progress} label={label} remainingSecs={task.remainingSecs} />}
        <ErrorNote error={error} />
      </div>
      {stale > 0 && !task && (
        <Button size="sm" disabled={!canEdit || busy} onClick={() => void ask(true)} data-testid={`batch-${kind}-stale`}>
          {t('estimate.stale')}（{stale}）
        </Button>
      )}
      {asking && (
        <Dialog
          title={t('estimate.title')}
          onClose={() => setAsking(null)}
          footer={
            <>
              <Button onClick={() => setAsking(null)}>{t('common.cancel')}</Button>
              <Button variant="primary" onClick={() => void start()} data-testid="estimate-start">
                {t('estimate.start')}
              </Button>
            </>
          }
        >
          <EstimateSummary estimate={asking.estimate} />
          <label className="mt-3 flex items-center gap-2 text-sm text-stone-700">
            <input type="checkbox" checked={fitBudget} onChange={(e) => setFitBudget(e.target.checked)} />
            {t('estimate.fit')}
          </label>
        </Dialog>
      )}
    </div>
  );
}
