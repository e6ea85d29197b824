// Keeps the live task feed open while signed in: tasks go into the task store, a task that
// finishes reloads its project (the server wrote its result into the project document), and a
// newer version of a project (another tab's or member's save) reloads it, so an open editor takes
// it in (or, with unsaved edits, shows the clash at its next save).
import { useEffect, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import type { Project } from '@/api/types';
import { TaskSocket, type SocketState } from '@/api/task-socket';
import { projectKeys } from '@/features/projects/api/projects';
import { FINISHED, taskStore } from './task-store';

const RELOAD_DEBOUNCE_MS = 250;

export function useTaskFeed(enabled: boolean): SocketState {
  const client = useQueryClient();
  const [state, setState] = useState<SocketState>('closed');

  useEffect(() => {
    if (!enabled) return;
    const pending = new Set<string>();
    let timer: ReturnType<typeof setTimeout> | null = null;
    const reload = (projectId: string | null) => {
      if (projectId) pending.add(projectId);
      else pending.add('*');
      timer ??= setTimeout(() => {
        timer = null;
        if (pending.has('*')) void client.invalidateQueries({ queryKey: ['projects'] });
        else pending.forEach((id) => void client.invalidateQueries({ queryKey: ['projects', 'detail', id] }));
        void client.invalidateQueries({ queryKey: ['projects', 'list'] });
        pending.clear();
      }, RELOAD_DEBOUNCE_MS);
    };
    const socket = new TaskSocket({
      onState: setState,
      onMessage: (message) => {
        if (message.type === 'project') {
          // Our own save already put this version in the cache; anything newer is news.
          const cached = client.getQueryData<Project>(projectKeys.detail(message.project.id));
          if (!cached || cached.version < message.project.version) reload(message.project.id);
          return;
        }
        const changed = taskStore.apply(message);
        // After a (re)connect, anything may have finished while we were away.
        if (message.type === 'snapshot') return reload(null);
        changed.filter((task) => FINISHED.has(task.status)).forEach((task) => reload(task.project_id ?? null));
      },
    });
    socket.start();
    return () => {
      socket.stop();
      if (timer) clearTimeout(timer);
    };
  }, [enabled, client]);

  return state;
}
