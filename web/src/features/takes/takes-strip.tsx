// Every generation of one slot, newest first: choose one for the slot, pin it (never pruned),
// compare two side by side, or run one's exact recipe again. A take made from inputs that have
// changed since is marked stale.
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Button } from '@/components/button';
import { Dialog } from '@/components/dialog';
import { ErrorNote } from '@/components/feedback';
import { useI18n, type MessageKey } from '@/i18n';
import type { Take } from '@/api/types';
import { taskStore } from '@/features/tasks/task-store';
import { useProject } from '@/features/workspace/project-context';
import { chooseTake, listTakes, money, pinTake, rerunTake } from './takes-api';

interface TakesStripProps {
  /** The slot's key among takes (`keyframe/shot-1/kf-1`, `clip/shot-1`, …). */
  slot: string;
  /** The slot's task key, so a re-run shows its progress where a generation would. */
  taskSlot: string;
  video?: boolean;
}

/** A take's picture or clip: a small decorative thumbnail in the strip, named when compared. */
function Preview({ take, video, name }: { take: Take; video?: boolean; name?: string }) {
  const size = name ? 'max-h-[60vh] w-full object-contain' : 'h-16 w-16 object-cover';
  return video ? (
    <video src={take.url} className={`${size} rounded bg-stone-900`} muted preload="metadata" controls={!!name} aria-label={name} />
  ) : (
    <img src={take.url} alt={name ?? ''} className={`${size} rounded bg-stone-100`} loading="lazy" />
  );
}

export function TakesStrip({ slot, taskSlot, video }: TakesStripProps) {
  const { t, lang } = useI18n();
  const { project, canEdit, reload } = useProject();
  const queries = useQueryClient();
  // The project's version is in the key: any change (a new take landing, a choice) reads again.
  const takes = useQuery({
    queryKey: ['takes', project.id, slot, project.version],
    queryFn: () => listTakes(project.id, slot),
  });
  const [comparing, setComparing] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const list = takes.data ?? [];
  if (list.length === 0) return <ErrorNote error={takes.error} />;

  const act = async (work: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
      await reload();
      await queries.invalidateQueries({ queryKey: ['takes', project.id, slot] });
    } catch (cause) {
      setError(cause);
    } finally {
      setBusy(false);
    }
  };
  const toggleCompare = (id: string) =>
    setComparing((now) => (now.includes(id) ? now.filter((x) => x !== id) : [...now.slice(-1), id]));
  const time = (iso: string) => new Date(iso).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-US', { month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  const pair = comparing.map((id) => list.find((take) => take.id === id)).filter((take): take is Take => !!take);

  return (
    <section className="flex flex-col gap-1" data-testid={`takes-${slot}`} aria-label={t('takes.title', { n: list.length })}>
      <p className="text-xs font-medium text-stone-600">{t('takes.title', { n: list.length })}</p>
      <ul className="flex gap-2 overflow-x-auto pb-1">
        {list.map((take) => (
          <li
            key={take.id}
            data-testid="take"
            data-chosen={take.chosen}
            className={`flex w-40 shrink-0 flex-col gap-1 rounded-md border p-1.5 text-[11px] ${take.chosen ? 'border-amber-500 bg-amber-50' : 'border-stone-200 bg-white'}`}
          >
            <div className="flex gap-1.5">
              <Preview take={take} video={video} />
              <div className="flex min-w-0 flex-col text-stone-600">
                <span>{time(take.created_at)}</span>
                <span className="truncate" title={take.model ?? take.provider ?? ''}>{take.model ?? take.provider ?? t('takes.kept')}</span>
                <span data-testid="take-cost">{take.cost ? money(take.cost) : t('takes.noCost')}</span>
                <span className="flex flex-wrap gap-1">
                  {take.chosen && <span className="rounded bg-amber-200 px-1 text-amber-900">{t('takes.chosen')}</span>}
                  {take.pinned && <span className="rounded bg-sky-100 px-1 text-sky-900">{t('takes.pinned')}</span>}
                  {take.stale && <span className="rounded bg-rose-100 px-1 text-rose-900">{t('takes.stale')}</span>}
                  {take.provenance.fell_back && (
                    <span
                      className="rounded bg-violet-100 px-1 text-violet-900"
                      data-testid="fell-back"
                      title={t('takes.fellBackHint', {
                        from: take.provenance.fell_back.from,
                        provider: take.provider ?? '',
                        reason: t(`takes.fellBackReason.${take.provenance.fell_back.reason}` as MessageKey),
                      })}
                    >
                      {t('takes.fellBack', { from: take.provenance.fell_back.from })}
                    </span>
                  )}
                </span>
              </div>
            </div>
            <div className="flex flex-wrap gap-1">
              {canEdit && !take.chosen && (
                <Button size="sm" disabled={busy} onClick={() => act(() => chooseTake(project.id, take.id))}>
                  {t('takes.choose')}
                </Button>
              )}
              {canEdit && (
                <Button size="sm" disabled={busy} onClick={() => act(() => pinTake(project.id, take.id, !take.pinned))}>
                  {take.pinned ? t('takes.unpin') : t('takes.pin')}
                </Button>
              )}
              {canEdit && take.provenance.recipe && (
                <Button
                  size="sm"
                  disabled={busy}
                  title={t('takes.rerunHint')}
                  onClick={() => act(async () => taskStore.track(await rerunTake(project.id, take.id), taskSlot))}
                >
                  {t('takes.rerun')}
                </Button>
              )}
              <label className="inline-flex items-center gap-1 text-stone-600">
                <input type="checkbox" checked={comparing.includes(take.id)} onChange={() => toggleCompare(take.id)} />
                {t('takes.compare')}
              </label>
            </div>
          </li>
        ))}
      </ul>
      <ErrorNote error={error ?? takes.error} />
      {pair.length === 2 && (
        <Dialog title={t('takes.compareTitle')} wide onClose={() => setComparing([])}>
          <div className="grid grid-cols-2 gap-3" data-testid="takes-compare">
            {pair.map((take) => (
              <figure key={take.id} className="flex flex-col gap-1">
                <Preview take={take} video={video} name={`${time(take.created_at)} · ${take.model ?? take.provider ?? t('takes.kept')}`} />
                <figcaption className="text-xs text-stone-600">
                  {time(take.created_at)} · {take.model ?? take.provider ?? t('takes.kept')} · {take.cost ? money(take.cost) : t('takes.noCost')}
                  {take.provenance.prompt && <span className="mt-1 block text-stone-500">{take.provenance.prompt}</span>}
                </figcaption>
              </figure>
            ))}
          </div>
        </Dialog>
      )}
    </section>
  );
}

/** A small mark on a slot whose chosen take was made from inputs that have changed since. */
export function StaleMark({ stale }: { stale?: boolean }) {
  const { t } = useI18n();
  if (!stale) return null;
  return (
    <span className="rounded bg-rose-100 px-1.5 py-0.5 text-[11px] font-medium text-rose-900" title={t('takes.staleHint')} data-testid="stale">
      {t('takes.stale')}
    </span>
  );
}
