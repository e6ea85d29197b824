import { useI18n } from '@/i18n';

interface Props {
  index: number;
  count: number;
  onMove: (from: number, to: number) => void;
  onDelete: () => void;
  label: string;
  disabled?: boolean;
}

/** Move up / move down / delete for one row of an editable list. */
export function ListControls({ index, count, onMove, onDelete, label, disabled }: Props) {
  const { t } = useI18n();
  const button = 'rounded px-1.5 py-0.5 text-xs text-stone-500 hover:bg-stone-200 disabled:opacity-30';
  return (
    <div className="flex shrink-0 gap-0.5">
      <button type="button" className={button} disabled={disabled || index === 0} aria-label={`${t('common.moveUp')}: ${label}`} onClick={() => onMove(index, index - 1)}>
        ↑
      </button>
      <button type="button" className={button} disabled={disabled || index === count - 1} aria-label={`${t('common.moveDown')}: ${label}`} onClick={() => onMove(index, index + 1)}>
        ↓
      </button>
      <button type="button" className={`${button} hover:text-red-600`} disabled={disabled} aria-label={`${t('common.delete')}: ${label}`} onClick={onDelete}>
        ✕
      </button>
    </div>
  );
}
