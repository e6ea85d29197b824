// An image slot: the picture or a placeholder, enlarged in a dialog on click.
import { useState } from 'react';
import { Dialog } from './dialog';
import { useI18n } from '@/i18n';

interface ImageSlotProps {
  url?: string | null;
  alt: string;
  aspect: string; // tailwind aspect class, e.g. 'aspect-[3/4]'
  busy?: boolean;
}

export function ImageSlot({ url, alt, aspect, busy }: ImageSlotProps) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  return (
    <>
      <div className={`relative overflow-hidden rounded-md bg-stone-200 ${aspect}`}>
        {url ? (
          <button type="button" className="block h-full w-full" onClick={() => setOpen(true)} aria-label={`${t('common.enlarge')}: ${alt}`}>
            <img src={url} alt={alt} loading="lazy" decoding="async" className="h-full w-full object-cover" />
          </button>
        ) : (
          <div className="flex h-full items-center justify-center text-xs text-stone-600">{t('assets.noImage')}</div>
        )}
        {busy && (
          <div className="absolute inset-0 flex items-center justify-center bg-white/60">
            <span className="h-6 w-6 animate-spin rounded-full border-2 border-stone-300 border-t-amber-500" />
          </div>
        )}
      </div>
      {open && url && (
        <Dialog title={alt} onClose={() => setOpen(false)} wide>
          <img src={url} alt={alt} className="mx-auto max-h-[75vh] object-contain" />
        </Dialog>
      )}
    </>
  );
}
