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

  it('finds a batch, the film and the script work again after a reload, from the snapshot alone', () => {
    const store = new TaskStore();
    store.apply({
      type: 'snapshot',
      tasks: [
        task({ id: 'batch', status: 'running', progress: 45, target: { type: 'batch', kind: 'clips' } }),
        task({ id: 'film', status: 'running', target: { type: 'film' } }),
        task({ id: 'zip', status: 'pending', target: { type: 'archive' } }),
        task({ id: 'parse', status: 'running', target: { type: 'script', action: 'parse' } }),
      ],
    });
    expect(store.activeForSlot('batch:clips')).toMatchObject({ id: 'batch', progress: 45 });
    expect(store.activeForSlot('film:merge')?.id).toBe('film');
    expect(store.activeForSlot('film:archive')?.id).toBe('zip');
    expect(store.activeForSlot('script:parse')?.id).toBe('parse');
  });

  it('estimates the time left from the pace since the first progress it saw', () => {
    const store = new TaskStore();
    const at = (second: number, progress: number) =>
      task({ status: 'running', progress, updated_at: `2026-01-01T00:00:${String(second).padStart(2, '0')}.000Z` });
    store.apply({ type: 'task', task: at(0, 20) });
    expect(store.get('t1')?.remainingSecs).toBeUndefined();
    store.apply({ type: 'task', task: at(10, 40) });
    // 20 points in 10 s: 60 points to go take 30 s.
    expect(store.get('t1')?.remainingSecs).toBe(30);
    store.apply({ type: 'task', task: { ...at(12, 100), status: 'completed' } });
    expect(store.get('t1')?.remainingSecs).toBeUndefined();
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
