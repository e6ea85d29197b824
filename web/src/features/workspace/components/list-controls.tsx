import { useState } from 'react';
import { ConfirmDialog } from '@/components/confirm-dialog';
import { useI18n } from '@/i18n';

interface Props {
  index: number;
  count: number;
  onMove: (from: number, to: number) => void;
  onDelete: () => void;
  label: string;
  disabled?: boolean;
  /** What deleting this row also removes (generated pictures, clips): asked about first when any. */
  losing?: string[];
}

/** Move up / move down / delete for one row of an editable list. */
export function ListControls({ index, count, onMove, onDelete, label, disabled, losing = [] }: Props) {
  const { t } = useI18n();
  const [confirming, setConfirming] = useState(false);
  const button = 'rounded px-1.5 py-0.5 text-xs text-stone-500 hover:bg-stone-200 disabled:opacity-30';
  const remove = () => (losing.length > 0 ? setConfirming(true) : onDelete());
  return (
    <div className="flex shrink-0 gap-0.5">
      <button type="button" className={button} disabled={disabled || index === 0} aria-label={`${t('common.moveUp')}: ${label}`} onClick={() => onMove(index, index - 1)}>
        ↑
      </button>
      <button type="button" className={button} disabled={disabled || index === count - 1} aria-label={`${t('common.moveDown')}: ${label}`} onClick={() => onMove(index, index + 1)}>
        ↓
      </button>
      <button type="button" className={`${button} hover:text-red-600`} disabled={disabled} aria-label={`${t('common.delete')}: ${label}`} onClick={remove}>
        ✕
      </button>
      {confirming && (
        <ConfirmDialog
          danger
          title={t('losses.title', { label })}
          body={t('losses.body', { items: losing.join('、') })}
          confirmLabel={t('losses.confirm')}
          onClose={() => setConfirming(false)}
          onConfirm={() => {
            setConfirming(false);
            onDelete();
          }}
        />
      )}
    </div>
  );
}
