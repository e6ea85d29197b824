// Tasks seen on the live feed (and those the app started), keyed by id; React reads it through
// `useSyncExternalStore`. Tasks started here also remember what they are for (a slot key such
// as `keyframe:shot-1:kf-1`), because the task view itself does not name its target.
import { useSyncExternalStore } from 'react';
import type { Task } from '@/api/types';
import type { TaskMessage } from '@/api/task-socket';

export const FINISHED = new Set(['completed', 'failed', 'cancelled']);

/**
 * The slot a target names: `character:…`, `variation:…:…`, `scene:…`, `keyframe:…:…`, `clip:…`,
 * `batch:…`, `film:merge`, `film:archive`, `script:parse|generate`.
 */
export function slotOfTarget(target: unknown): string | undefined {
  if (!target || typeof target !== 'object') return undefined;
  const t = target as Record<string, unknown>;
  switch (t.type) {
    case 'character':
      return `character:${t.character_id}`;
    case 'variation':
      return `variation:${t.character_id}:${t.variation_id}`;
    case 'scene':
      return `scene:${t.scene_id}`;
    case 'keyframe':
      return `keyframe:${t.shot_id}:${t.keyframe_id}`;
    case 'clip':
      return `clip:${t.shot_id}`;
    case 'voice':
      return `voice:${t.shot_id}`;
    // Whole-project work, named so a reload finds its progress again.
    case 'batch':
      return `batch:${t.kind}`;
    case 'film':
      return 'film:merge';
    case 'archive':
      return 'film:archive';
    case 'script':
      return `script:${t.action}`;
    default:
      return undefined;
  }
}

export interface TrackedTask extends Task {
  slot?: string;
  /** Seconds left at the pace seen since this task first reported progress, once known. */
  remainingSecs?: number;
}

/** The first progress seen of a running task, by the server's clock. */
interface FirstProgress {
  at: number;
  progress: number;
}

/**
 * Seconds left if the task keeps the pace it has had since `first`; unknown until it has moved
 * for a second or more.
 */
export function remainingSecs(first: FirstProgress | undefined, task: Task): number | undefined {
  if (!first || task.status !== 'running') return undefined;
  const moved = task.progress - first.progress;
  const took = (Date.parse(task.updated_at) - first.at) / 1000;
  if (moved <= 0 || took < 1 || task.progress >= 100) return undefined;
  return Math.max(1, Math.round(((100 - task.progress) * took) / moved));
}

type Listener = () => void;

export class TaskStore {
  private tasks = new Map<string, TrackedTask>();
  private slots = new Map<string, string>();
  private firstProgress = new Map<string, FirstProgress>();
  private listeners = new Set<Listener>();
  private snapshot: TrackedTask[] = [];

  subscribe = (listener: Listener) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = () => this.snapshot;

  /** Records a task this app started, and what it is for. */
  track(task: Task, slot?: string): void {
    if (slot) this.slots.set(task.id, slot);
    this.upsert(task);
    this.emit();
  }

  apply(message: Exclude<TaskMessage, { type: 'project' }>): Task[] {
    const changed = message.type === 'snapshot' ? message.tasks : [message.task];
    if (message.type === 'snapshot') {
      // Unfinished tasks missing from a fresh snapshot finished while we were away: drop them,
      // the project reload that follows a reconnect shows their outcome.
      const present = new Set(message.tasks.map((t) => t.id));
      for (const [id, task] of this.tasks) {
        if (!FINISHED.has(task.status) && !present.has(id)) this.tasks.delete(id);
      }
    }
    changed.forEach((task) => this.upsert(task));
    this.emit();
    return changed;
  }

  get(id: string): TrackedTask | undefined {
    return this.tasks.get(id);
  }

  /** The newest unfinished task for a slot, if any. */
  activeForSlot(slot: string): TrackedTask | undefined {
    return this.snapshot.find((task) => task.slot === slot && !FINISHED.has(task.status));
  }

  clear(): void {
    this.tasks.clear();
    this.slots.clear();
    this.firstProgress.clear();
    this.emit();
  }

  private upsert(task: Task): void {
    const known = this.tasks.get(task.id);
    // Tasks started elsewhere (another tab, a batch's items) name their target on the feed.
    const slot = this.slots.get(task.id) ?? slotOfTarget(task.target);
    // Events can overtake each other (a quick task may finish on the feed before the request
    // that queued it has answered): never let an older state replace a newer one.
    if (known && Date.parse(known.updated_at) > Date.parse(task.updated_at)) {
      if (slot && known.slot !== slot) this.tasks.set(task.id, { ...known, slot });
      return;
    }
    if (task.status === 'running' && task.progress > 0 && !this.firstProgress.has(task.id)) {
      this.firstProgress.set(task.id, { at: Date.parse(task.updated_at), progress: task.progress });
    }
    this.tasks.set(task.id, { ...task, slot, remainingSecs: remainingSecs(this.firstProgress.get(task.id), task) });
  }

  private emit(): void {
    this.snapshot = [...this.tasks.values()].sort((a, b) => b.created_at.localeCompare(a.created_at));
    this.listeners.forEach((listener) => listener());
  }
}

export const taskStore = new TaskStore();

export function useTasks(store: TaskStore = taskStore): TrackedTask[] {
  return useSyncExternalStore(store.subscribe, store.getSnapshot);
}
