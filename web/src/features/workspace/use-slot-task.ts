import { FINISHED, useTasks, type TrackedTask } from '@/features/tasks/task-store';

/** The task working on a slot right now (started from this tab), if any. */
export function useSlotTask(slot: string): TrackedTask | undefined {
  return useTasks().find((task) => task.slot === slot && !FINISHED.has(task.status));
}

/** The latest task for a slot, finished or not. */
export function useLatestSlotTask(slot: string): TrackedTask | undefined {
  return useTasks().find((task) => task.slot === slot);
}
