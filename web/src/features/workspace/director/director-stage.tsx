import { useRef, useState } from 'react';
import { EmptyState } from '@/components/feedback';
import { useI18n } from '@/i18n';
import { useProject } from '../project-context';
import { BatchButton } from '../components/batch-button';
import { completion } from './shot-status';
import { ShotTile } from './shot-tile';
import { ShotDetail } from './shot-detail';

export function DirectorStage() {
  const { t } = useI18n();
  const { project } = useProject();
  const shots = project.shots;
  const [selectedId, setSelectedId] = useState<string | null>(shots[0]?.id ?? null);
  const selectedIndex = shots.findIndex((s) => s.id === selectedId);
  const counts = completion(shots);
  const detail = useRef<HTMLDivElement>(null);
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
          </>
        )}
      </div>
      {shots.length === 0 ? (
        <EmptyState>{t('director.empty')}</EmptyState>
      ) : (
        <div className="grid grid-cols-1 gap-5 lg:grid-cols-[minmax(16rem,22rem)_1fr]">
          <div className="grid max-h-[calc(100vh-10rem)] grid-cols-2 content-start gap-2 overflow-y-auto pr-1" aria-label={t('director.grid')}>
            {shots.map((shot, i) => (
              <ShotTile key={shot.id} shot={shot} index={i} selected={shot.id === selectedId} onSelect={() => select(shot.id)} />
            ))}
          </div>
          <div className="min-w-0 scroll-mt-2" ref={detail}>
            {selectedIndex >= 0 ? (
              <ShotDetail key={shots[selectedIndex].id} shot={shots[selectedIndex]} index={selectedIndex} />
            ) : (
              <EmptyState>{t('director.pick')}</EmptyState>
            )}
          </div>
        </div>
      )}
    </div>
  );
}
