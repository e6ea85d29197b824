import { describe, expect, it } from 'vitest';
import { TaskStore } from './task-store';
import { task } from '@/test/fixtures';

describe('the task store', () => {
  it('keeps the newest state of each task, newest task first', () => {
    const store = new TaskStore();
    store.apply({ type: 'snapshot', tasks: [task({ id: 'a', created_at: '2026-01-01T00:00:01.000Z' })] });
    store.apply({ type: 'task', task: task({ id: 'b', created_at: '2026-01-01T00:00:02.000Z' }) });
    store.apply({ type: 'task', task: task({ id: 'a', status: 'running', progress: 40, updated_at: '2026-01-01T00:00:03.000Z' }) });
    expect(store.getSnapshot().map((t) => [t.id, t.progress])).toEqual([
      ['b', 0],
      ['a', 40],
    ]);
  });

  it('never lets an older event replace a newer one, and keeps the slot it was started for', () => {
    const store = new TaskStore();
    // A quick task finishes on the feed before the request that queued it has answered.
    store.apply({ type: 'task', task: task({ status: 'completed', progress: 100, updated_at: '2026-01-01T00:00:02.000Z' }) });
    store.track(task({ status: 'pending', updated_at: '2026-01-01T00:00:01.000Z' }), 'film:archive');
    expect(store.get('t1')).toMatchObject({ status: 'completed', slot: 'film:archive' });
  });

  it('places tasks started elsewhere (batch items) by the target the server names', () => {
    const store = new TaskStore();
    store.apply({
      type: 'task',
      task: task({ id: 'item', status: 'running', progress: 30, parent_id: 'batch', target: { type: 'clip', shot_id: 'shot-3' } }),
    });
    store.apply({
      type: 'task',
      task: task({ id: 'frame', target: { type: 'keyframe', shot_id: 'shot-3', keyframe_id: 'shot-3-end' } }),
    });
    expect(store.activeForSlot('clip:shot-3')).toMatchObject({ id: 'item', progress: 30 });
    expect(store.activeForSlot('keyframe:shot-3:shot-3-end')?.id).toBe('frame');
  });

  it('finds the unfinished task of a slot', () => {
    const store = new TaskStore();
    store.track(task({ id: 'x' }), 'scene:s1');
    expect(store.activeForSlot('scene:s1')?.id).toBe('x');
    store.apply({ type: 'task', task: task({ id: 'x', status: 'failed', updated_at: '2026-01-01T00:00:05.000Z' }) });
    expect(store.activeForSlot('scene:s1')).toBeUndefined();
  });

  it('drops unfinished tasks missing from a fresh snapshot (they finished while away)', () => {
    const store = new TaskStore();
    store.apply({ type: 'snapshot', tasks: [task({ id: 'gone', status: 'running' }), task({ id: 'stays', status: 'running' })] });
    store.apply({ type: 'snapshot', tasks: [task({ id: 'stays', status: 'running' })] });
    expect(store.getSnapshot().map((t) => t.id)).toEqual(['stays']);
  });
});
