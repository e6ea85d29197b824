import { useState } from 'react';
import { Link } from 'react-router';
import type { ProjectListItem } from '@/api/types';
import { Button } from '@/components/button';
import { useI18n, type MessageKey } from '@/i18n';
import { formatTime } from '@/lib/format';

export type CardAction = 'rename' | 'archive' | 'unarchive' | 'delete' | 'members' | 'restore';

interface Props {
  item: ProjectListItem;
  onAction: (action: CardAction, item: ProjectListItem) => void;
}

export function ProjectCard({ item, onAction }: Props) {
  const { t, lang } = useI18n();
  const [menuOpen, setMenuOpen] = useState(false);
  const deleted = item.status === 'deleted';
  const canEdit = item.role !== 'viewer' && !deleted;
  const isOwner = item.role === 'owner';
  const actions: { action: CardAction; label: string; show: boolean }[] = [
    { action: 'rename', label: t('dashboard.rename'), show: canEdit },
    // Archiving changes the project's status, which only its owner may.
    { action: 'archive', label: t('dashboard.archive'), show: isOwner && !deleted && item.status === 'active' },
    { action: 'unarchive', label: t('dashboard.unarchive'), show: isOwner && !deleted && item.status === 'archived' },
    { action: 'members', label: t('dashboard.members'), show: isOwner && !deleted },
    { action: 'delete', label: t('common.delete'), show: isOwner && !deleted },
    { action: 'restore', label: t('dashboard.restore'), show: isOwner && deleted },
  ];
  const visible = actions.filter((a) => a.show);

  return (
    <article className="group relative flex flex-col overflow-hidden rounded-lg border border-stone-200 bg-white shadow-sm" data-testid="project-card">
      <Link to={`/projects/${item.id}/${item.stage || 'script'}`} className="block focus-visible:outline-2 focus-visible:outline-amber-500">
        <div className="aspect-video bg-stone-800">
          {item.thumbnail_url ? (
            <img src={item.thumbnail_url} alt="" loading="lazy" decoding="async" className="h-full w-full object-cover" />
          ) : (
            <div className="flex h-full items-center justify-center text-3xl text-stone-600">▶</div>
          )}
        </div>
        <div className="flex flex-col gap-1 p-3">
          <div className="flex items-center gap-2">
            <h2 className="truncate font-semibold">{item.title}</h2>
            <span className="shrink-0 rounded bg-stone-100 px-1.5 py-0.5 text-[11px] text-stone-600">{t(`role.${item.role}`)}</span>
            {item.imported_at && (
              // Tells an imported project from one of the same title made here.
              <span
                className="shrink-0 rounded bg-sky-100 px-1.5 py-0.5 text-[11px] text-sky-800"
                title={t('dashboard.importedAt', { time: formatTime(item.imported_at, lang) })}
                data-testid="imported-badge"
              >
                {t('dashboard.imported')}
              </span>
            )}
          </div>
          <p className="text-xs text-stone-500">
            {t(`stage.${item.stage}` as MessageKey)} · {t('dashboard.shots', { n: item.counts.shots })} ·{' '}
            {t('dashboard.progress', { k: item.counts.keyframes_completed, c: item.counts.clips_completed })}
          </p>
          <p className="text-xs text-stone-500">{t('dashboard.updated', { time: formatTime(item.updated_at, lang) })}</p>
        </div>
      </Link>
      {visible.length > 0 && (
      <div className="absolute top-2 right-2">
        <Button size="sm" variant="secondary" aria-label={`${t('dashboard.actions')}: ${item.title}`} aria-expanded={menuOpen} onClick={() => setMenuOpen((o) => !o)}>
          ⋯
        </Button>
        {menuOpen && (
          <ul
            role="menu"
            className="absolute right-0 z-10 mt-1 w-36 rounded-md border border-stone-200 bg-white py-1 text-sm shadow-lg"
            onMouseLeave={() => setMenuOpen(false)}
            onKeyDown={(event) => event.key === 'Escape' && setMenuOpen(false)}
          >
            {visible.map((a) => (
                <li key={a.action}>
                  <button
                    role="menuitem"
                    type="button"
                    className={`w-full px-3 py-1.5 text-left hover:bg-stone-100 ${a.action === 'delete' ? 'text-red-600' : ''}`}
                    onClick={() => {
                      setMenuOpen(false);
                      onAction(a.action, item);
                    }}
                  >
                    {a.label}
                  </button>
                </li>
              ))}
          </ul>
        )}
      </div>
      )}
    </article>
  );
}
