import { useEffect, useState } from 'react';
import type { ProjectListItem } from '@/api/types';
import { Button } from '@/components/button';
import { ConfirmDialog } from '@/components/confirm-dialog';
import { EmptyState, ErrorNote, Spinner } from '@/components/feedback';
import { useI18n } from '@/i18n';
import { MembersDialog } from '@/features/members/members-dialog';
import { ImportDialog } from '@/features/import/import-dialog';
import { useDeleteProject, useProjectList, useQuickUpdate, useRestoreProject, type ProjectListParams } from './api/projects';
import { CreateProjectDialog } from './components/create-project-dialog';
import { ProjectCard, type CardAction } from './components/project-card';
import { RenameDialog } from './components/rename-dialog';

const PAGE_SIZE = 12;

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

export function DashboardPage() {
  const { t } = useI18n();
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState<ProjectListParams['status']>('active');
  const [page, setPage] = useState(1);
  const debouncedSearch = useDebounced(search.trim(), 300);
  const list = useProjectList({ page, size: PAGE_SIZE, search: debouncedSearch, status });
  const quick = useQuickUpdate();
  const remove = useDeleteProject();
  const restore = useRestoreProject();
  const [dialog, setDialog] = useState<{ kind: CardAction | 'create' | 'import'; item?: ProjectListItem } | null>(null);

  useEffect(() => {
    setPage(1);
  }, [debouncedSearch, status]);

  const onAction = (action: CardAction, item: ProjectListItem) => {
    if (action === 'archive') quick.mutate({ item, change: { status: 'archived' } });
    else if (action === 'unarchive') quick.mutate({ item, change: { status: 'active' } });
    else if (action === 'restore') restore.mutate(item.id);
    else setDialog({ kind: action, item });
  };

  const pagination = list.data?.pagination;
  const items = list.data?.items ?? [];

  return (
    <div className="mx-auto flex max-w-6xl flex-col gap-5 px-6 py-8">
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="mr-auto text-2xl font-semibold tracking-tight">{t('dashboard.title')}</h1>
        <Button onClick={() => setDialog({ kind: 'import' })}>{t('dashboard.import')}</Button>
        <Button variant="primary" onClick={() => setDialog({ kind: 'create' })}>
          + {t('dashboard.new')}
        </Button>
      </div>
      <div className="flex flex-wrap items-center gap-3">
        <input
          type="search"
          aria-label={t('common.search')}
          placeholder={t('dashboard.searchPlaceholder')}
          value={search}
          onChange={(e) => setSearch(e.target.value)}
          className="w-72 rounded-md border border-stone-300 bg-white px-3 py-2 text-sm focus:border-amber-500 focus:outline-none"
        />
        <div role="tablist" className="flex rounded-md border border-stone-300 bg-white p-0.5 text-sm">
          {(['active', 'archived', 'deleted'] as const).map((s) => (
            <button
              key={s}
              role="tab"
              type="button"
              aria-selected={status === s}
              onClick={() => setStatus(s)}
              className={`rounded px-3 py-1 ${status === s ? 'bg-stone-900 text-white' : 'text-stone-600 hover:bg-stone-100'}`}
            >
              {t(`dashboard.${s}`)}
            </button>
          ))}
        </div>
      </div>
      <ErrorNote error={list.error ?? quick.error ?? remove.error ?? restore.error} />
      {list.isPending ? (
        <Spinner label={t('common.loading')} />
      ) : items.length === 0 ? (
        <EmptyState
          action={
            !debouncedSearch && status === 'active' ? (
              <Button variant="primary" onClick={() => setDialog({ kind: 'create' })}>
                {t('dashboard.new')}
              </Button>
            ) : undefined
          }
        >
          {debouncedSearch
            ? t('dashboard.emptySearch')
            : status === 'archived'
              ? t('dashboard.emptyArchived')
              : status === 'deleted'
                ? t('dashboard.emptyDeleted')
                : t('dashboard.empty')}
        </EmptyState>
      ) : (
        <div className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-3 xl:grid-cols-4">
          {items.map((item) => (
            <ProjectCard key={item.id} item={item} onAction={onAction} />
          ))}
        </div>
      )}
      {pagination && pagination.pages > 1 && (
        <nav className="flex items-center justify-center gap-3 text-sm" aria-label="pagination">
          <Button size="sm" disabled={page <= 1} onClick={() => setPage((p) => p - 1)}>
            {t('common.previous')}
          </Button>
          <span>{t('common.page', { page: pagination.page, pages: pagination.pages })}</span>
          <Button size="sm" disabled={page >= pagination.pages} onClick={() => setPage((p) => p + 1)}>
            {t('common.next')}
          </Button>
        </nav>
      )}

      {dialog?.kind === 'create' && <CreateProjectDialog onClose={() => setDialog(null)} />}
      {dialog?.kind === 'import' && <ImportDialog onClose={() => setDialog(null)} />}
      {dialog?.kind === 'rename' && dialog.item && <RenameDialog item={dialog.item} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'members' && dialog.item && <MembersDialog projectId={dialog.item.id} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'delete' && dialog.item && (
        <ConfirmDialog
          danger
          title={t('dashboard.deleteTitle')}
          body={t('dashboard.deleteBody', { title: dialog.item.title })}
          confirmLabel={t('common.delete')}
          busy={remove.isPending}
          onClose={() => setDialog(null)}
          onConfirm={() => remove.mutate(dialog.item!.id, { onSuccess: () => setDialog(null) })}
        />
      )}
    </div>
  );
}
