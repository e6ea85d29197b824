import { StatusBadge } from '@/components/feedback';
import { useI18n } from '@/i18n';
import type { Shot } from '@/api/types';
import { clipSlot } from '../generation';
import { useSlotTask } from '../use-slot-task';
import { shotStatus } from './shot-status';

/** A shot in the grid: its clip over its first image, its number and status. */
interface Props {
  shot: Shot;
  index: number;
  selected: boolean;
  onSelect: () => void;
  /** Whether the shot is picked for "regenerate selected"; `undefined`: no picking (a viewer). */
  picked?: boolean;
  onPick?: (picked: boolean) => void;
}

export function ShotTile({ shot, index, selected, onSelect, picked, onPick }: Props) {
  const { t } = useI18n();
  const clipTask = useSlotTask(clipSlot(shot.id));
  const image = shot.keyframes.find((k) => k.imageUrl)?.imageUrl;
  const video = shot.interval?.videoUrl;
  const status = clipTask ? 'generating' : shotStatus(shot);
  const tile = (
    <button
      type="button"
      onClick={onSelect}
      aria-pressed={selected}
      data-testid="shot-tile"
      data-status={status}
      className={`flex flex-col overflow-hidden rounded-md border text-left ${selected ? 'border-amber-500 ring-2 ring-amber-200' : 'border-stone-200 hover:border-stone-400'} bg-white`}
    >
      <div className="aspect-video overflow-hidden bg-stone-800">
        {video ? (
          <video src={video} poster={image ?? undefined} muted preload="none" className="block h-full w-full object-cover" />
        ) : image ? (
          <img src={image} alt="" loading="lazy" decoding="async" className="h-full w-full object-cover" />
        ) : null}
      </div>
      <div className="flex items-center gap-1 p-1.5">
        <span className="mr-auto text-xs font-medium">{t('script.shotN', { n: index + 1 })}</span>
        <StatusBadge status={status} of="slot" />
      </div>
      {clipTask && <div className="h-1 bg-amber-500" style={{ width: `${clipTask.progress}%` }} />}
    </button>
  );
  if (picked === undefined) return tile;
  return (
    <div className="relative">
      {tile}
      <input
        type="checkbox"
        checked={picked}
        onChange={(e) => onPick?.(e.target.checked)}
        aria-label={t('director.pickShot', { n: index + 1 })}
        className="absolute top-1.5 left-1.5 h-4 w-4 accent-amber-500"
      />
    </div>
  );
}
