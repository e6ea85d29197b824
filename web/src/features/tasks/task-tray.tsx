// The task tray: this project's recent tasks with progress, cancel and retry.
import { useState } from 'react';
import { api, unwrap } from '@/api/client';
import { Button } from '@/components/button';
import { ErrorNote, ProgressBar, StatusBadge, TaskFailure } from '@/components/feedback';
import type { SocketState } from '@/api/task-socket';
import { useI18n, type MessageKey } from '@/i18n';
import { FINISHED, taskStore, useTasks } from './task-store';

export function taskLabel(t: (k: MessageKey) => string, type: string): string {
  const key = `task.${type.split('.').pop()}` as MessageKey;
  const text = t(key);
  return text === key ? type : text;
}

export function TaskTray({ projectId, feed }: { projectId: string; feed: SocketState }) {
  const { t } = useI18n();
  const tasks = useTasks().filter((task) => task.project_id === projectId);
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const active = tasks.filter((task) => !FINISHED.has(task.status));

  const act = async (id: string, action: 'cancel' | 'retry') => {
    setError(null);
    try {
      const path = action === 'cancel' ? '/api/v1/ai/tasks/{id}/cancel' : '/api/v1/ai/tasks/{id}/retry';
      const { task } = await unwrap(api.POST(path, { params: { path: { id } } }));
      taskStore.track(task);
    } catch (cause) {
      setError(cause);
    }
  };

  return (
    <div className="fixed right-4 bottom-4 z-40 w-80 text-sm">
      {open && (
        <section className="mb-2 max-h-96 overflow-y-auto rounded-lg border border-stone-200 bg-white p-3 shadow-lg" aria-label={t('tasks.title')}>
          <ErrorNote error={error} />
          {tasks.length === 0 ? (
            <p className="text-stone-500">{t('tasks.empty')}</p>
          ) : (
            <ul className="flex flex-col gap-2" data-testid="task-list">
              {tasks.slice(0, 30).map((task) => (
                <li key={task.id} className="flex flex-col gap-1 border-b border-stone-100 pb-2 last:border-0">
                  <div className="flex items-center gap-2">
                    <span className="mr-auto truncate">{taskLabel(t, task.kind)}</span>
                    <StatusBadge status={task.status} />
                    {!FINISHED.has(task.status) && (
                      <Button size="sm" variant="ghost" onClick={() => act(task.id, 'cancel')}>
                        {t('tasks.cancel')}
                      </Button>
                    )}
                    {task.status === 'failed' && (
                      <Button size="sm" variant="ghost" onClick={() => act(task.id, 'retry')}>
                        {t('tasks.retry')}
                      </Button>
                    )}
                  </div>
                  {!FINISHED.has(task.status) && <ProgressBar value={task.progress} label={taskLabel(t, task.kind)} remainingSecs={task.remainingSecs} />}
                  {task.status === 'failed' && <TaskFailure error={task.error} />}
                </li>
              ))}
            </ul>
          )}
        </section>
      )}
      <button
        type="button"
        onClick={() => setOpen((o) => !o)}
        aria-expanded={open}
        className="ml-auto flex items-center gap-2 rounded-full bg-stone-900 px-4 py-2 text-white shadow-lg hover:bg-stone-700"
      >
        <span className={`h-2 w-2 rounded-full ${feed === 'open' ? 'bg-emerald-400' : 'bg-amber-400'}`} title={feed === 'open' ? t('tasks.live') : t('tasks.offline')} />
        {t('tasks.title')}
        {active.length > 0 && <span className="rounded-full bg-amber-500 px-1.5 text-xs">{active.length}</span>}
      </button>
    </div>
  );
}
