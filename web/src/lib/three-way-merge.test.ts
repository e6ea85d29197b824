import { describe, expect, it } from 'vitest';
import { merge3 } from './three-way-merge';

const shot = (id: string, extra: Record<string, unknown> = {}) => ({ id, actionSummary: `${id} action`, keyframes: [{ id: `${id}-start`, status: 'pending' }], ...extra });

describe('three-way merge', () => {
  it('takes each side where only that side changed', () => {
    expect(merge3('a', 'a', 'b')).toEqual({ value: 'b', conflict: false });
    expect(merge3('a', 'b', 'a')).toEqual({ value: 'b', conflict: false });
    expect(merge3({ x: 1, y: 1 }, { x: 2, y: 1 }, { x: 1, y: 3 })).toEqual({ value: { x: 2, y: 3 }, conflict: false });
  });

  it('keeps an edit of one shot and an image written into another', () => {
    const base = [shot('s1'), shot('s2')];
    const mine = [shot('s1', { actionSummary: 'rewritten' }), shot('s2')];
    const theirs = [shot('s1'), shot('s2', { keyframes: [{ id: 's2-start', status: 'completed', imageFileId: 'f1' }] })];
    expect(merge3(base, mine, theirs)).toEqual({
      value: [shot('s1', { actionSummary: 'rewritten' }), shot('s2', { keyframes: [{ id: 's2-start', status: 'completed', imageFileId: 'f1' }] })],
      conflict: false,
    });
  });

  it('merges inside one shot too, down to the keyframe', () => {
    const base = [shot('s1')];
    const mine = [shot('s1', { dialogue: 'new line' })];
    const theirs = [shot('s1', { keyframes: [{ id: 's1-start', status: 'generating' }] })];
    expect(merge3(base, mine, theirs).value).toEqual([shot('s1', { dialogue: 'new line', keyframes: [{ id: 's1-start', status: 'generating' }] })]);
  });

  it('follows our order, removals and additions, and keeps theirs', () => {
    const base = [shot('a'), shot('b'), shot('c')];
    const mine = [shot('c'), shot('a'), shot('new')]; // b removed, reordered, one added
    const theirs = [shot('a'), shot('b'), shot('c'), shot('d')]; // d added
    expect(merge3(base, mine, theirs).value).toEqual([shot('c'), shot('a'), shot('new'), shot('d')]);
  });

  it('flags the same value changed on both sides, and keeps ours there', () => {
    expect(merge3({ title: 'a' }, { title: 'mine' }, { title: 'theirs' })).toEqual({ value: { title: 'mine' }, conflict: true });
    expect(merge3('base', 'mine', 'theirs')).toEqual({ value: 'mine', conflict: true });
    const removedByUs = merge3([shot('a')], [], [shot('a', { dialogue: 'changed' })]);
    expect(removedByUs).toEqual({ value: [], conflict: true });
  });
});
