import { describe, expect, it } from 'vitest';
import { money, takeSlotKey } from './takes-api';

describe('takes', () => {
  it('name slots as the server does, escaping what ids may hold', () => {
    expect(takeSlotKey({ type: 'keyframe', shotId: 'shot-1', keyframeId: 'kf-1s' })).toBe('keyframe/shot-1/kf-1s');
    expect(takeSlotKey({ type: 'clip', shotId: 'a/b' })).toBe('clip/a%2Fb');
    expect(takeSlotKey({ type: 'variation', characterId: '50%', id: 'v1' })).toBe('variation/50%25/v1');
    expect(takeSlotKey({ type: 'film' })).toBe('film');
  });

  it('show money in its own currency, never converted', () => {
    expect(money({ amount: '0.053000', currency: 'USD' })).toBe('US$0.053');
    expect(money({ amount: '12.000000', currency: 'CNY' })).toBe('¥12.00');
    expect(money({ amount: '0.000000', currency: 'USD' })).toBe('US$0.00');
  });
});
