import { useRef, useState } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import { EmptyState } from '@/components/feedback';
import { useI18n } from '@/i18n';
import { useProject } from '../project-context';
import { BatchButton } from '../components/batch-button';
import { completion } from './shot-status';
import { ShotTile } from './shot-tile';
import { ShotDetail } from './shot-detail';
import { Button } from '@/components/button';
import { ErrorNote } from '@/components/feedback';
import { batchSlot, generateBatch } from '../generation';
import { useSlotTask } from '../use-slot-task';

/** Tiles per row of the shot grid, and a row's height before it is measured. */
const COLUMNS = 2;
const ROW_ESTIMATE_PX = 150;

export function DirectorStage() {
  const { t } = useI18n();
  const { project, canEdit, editor, reload } = useProject();
  const shots = project.shots;
  const [selectedId, setSelectedId] = useState<string | null>(shots[0]?.id ?? null);
  const selectedIndex = shots.findIndex((s) => s.id === selectedId);
  const counts = completion(shots);
  const detail = useRef<HTMLDivElement>(null);
  // Shots picked for "regenerate selected".
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [pickError, setPickError] = useState<unknown>(null);
  const framesBusy = !!useSlotTask(batchSlot('keyframes'));
  const clipsBusy = !!useSlotTask(batchSlot('clips'));
  const pick = (id: string, on: boolean) =>
    setPicked((now) => {
      const next = new Set(now);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  const regenerate = async (kind: 'keyframes' | 'clips') => {
    setPickError(null);
    try {
      await editor.flush();
      // In the order of the shot list, not the order they were picked.
      await generateBatch(project.id, kind, shots.filter((s) => picked.has(s.id)).map((s) => s.id));
      setPicked(new Set());
      await reload();
    } catch (cause) {
      setPickError(cause);
    }
  };
  const list = useRef<HTMLDivElement>(null);
  // Only the rows in view (and a few around them) are in the page: a 300-shot project opens and
  // scrolls as quickly as a 10-shot one, and pictures load as their rows come into view.
  const rows = useVirtualizer({
    count: Math.ceil(shots.length / COLUMNS),
    getScrollElement: () => list.current,
    estimateSize: () => ROW_ESTIMATE_PX,
    overscan: 4,
  });
  // Below the two-column width the detail is under the list: bring it into view on a tap.
  const select = (id: string) => {
    setSelectedId(id);
    if (window.matchMedia?.('(max-width: 1023px)').matches) {
      requestAnimationFrame(() => detail.current?.scrollIntoView?.({ behavior: 'smooth', block: 'start' }));
    }
  };

  return (
    <div className="flex flex-col gap-4 p-6">
      <div className="flex flex-wrap items-start gap-3">
        <div className="mr-auto">
          <h2 className="text-xl font-semibold">03 · {t('stage.director')}</h2>
          <p className="text-sm text-stone-500" data-testid="completion">
            {t('director.completion', { k: counts.keyframes, kt: counts.keyframesTotal, c: counts.clips, ct: counts.clipsTotal })}
          </p>
        </div>
        {shots.length > 0 && (
          <>
            <BatchButton kind="keyframes" label={t('director.allFrames')} />
            <BatchButton kind="clips" label={t('director.allClips')} />
            <BatchButton kind="voices" label={t('voice.all')} />
          </>
        )}
      </div>
      {shots.length === 0 ? (
        <EmptyState>{t('director.empty')}</EmptyState>
      ) : (
        <>
        {picked.size > 0 && (
          <div className="flex flex-wrap items-center gap-2 rounded-md bg-amber-50 px-3 py-2 text-sm" data-testid="picked-bar">
            <span className="mr-auto">{t('director.picked', { n: picked.size })}</span>
            <Button size="sm" disabled={!canEdit || framesBusy} onClick={() => void regenerate('keyframes')}>
              {t('director.regenerateFrames')}
            </Button>
            <Button size="sm" disabled={!canEdit || clipsBusy} onClick={() => void regenerate('clips')}>
              {t('director.regenerateClips')}
            </Button>
            <Button size="sm" variant="ghost" onClick={() => setPicked(new Set())}>
              {t('director.clearPicked')}
            </Button>
          </div>
        )}
        <ErrorNote error={pickError} />
        <div className="grid grid-cols-1 gap-5 lg:grid-cols-[minmax(16rem,22rem)_1fr]">
          <div ref={list} className="max-h-[calc(100vh-10rem)] overflow-y-auto pr-1" aria-label={t('director.grid')} data-testid="shot-grid">
            <div className="relative w-full" style={{ height: rows.getTotalSize() }}>
              {rows.getVirtualItems().map((row) => (
                <div
                  key={row.key}
                  data-index={row.index}
                  ref={rows.measureElement}
                  className="absolute top-0 left-0 grid w-full grid-cols-2 gap-2 pb-2"
                  style={{ transform: `translateY(${row.start}px)` }}
                >
                  {shots.slice(row.index * COLUMNS, (row.index + 1) * COLUMNS).map((shot, j) => {
                    const i = row.index * COLUMNS + j;
                    return (
                      <ShotTile
                        key={shot.id}
                        shot={shot}
                        index={i}
                        selected={shot.id === selectedId}
                        onSelect={() => select(shot.id)}
                        picked={canEdit ? picked.has(shot.id) : undefined}
                        onPick={(on) => pick(shot.id, on)}
                      />
                    );
                  })}
                </div>
              ))}
            </div>
          </div>
          <div className="min-w-0 scroll-mt-2" ref={detail}>
            {selectedIndex >= 0 ? (
              <ShotDetail key={shots[selectedIndex].id} shot={shots[selectedIndex]} index={selectedIndex} />
            ) : (
              <EmptyState>{t('director.pick')}</EmptyState>
            )}
          </div>
        </div>
        </>
      )}
    </div>
  );
}
