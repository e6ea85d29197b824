import type { Shot, SlotStatus } from '@/api/types';

export function keyframesDone(shot: Shot): number {
  return shot.keyframes.filter((k) => k.status === 'completed' && k.imageUrl).length;
}

export function clipDone(shot: Shot): boolean {
  return shot.interval?.status === 'completed' && !!shot.interval.videoUrl;
}

/** One status for a shot's tile: failed or generating wins, then done when the clip is. */
export function shotStatus(shot: Shot): SlotStatus {
  const slots = [...shot.keyframes.map((k) => k.status), shot.interval?.status ?? 'pending'];
  if (slots.includes('generating')) return 'generating';
  if (slots.includes('failed')) return 'failed';
  if (clipDone(shot)) return 'completed';
  return 'pending';
}

export function completion(shots: Shot[]) {
  return {
    keyframes: shots.reduce((n, s) => n + keyframesDone(s), 0),
    keyframesTotal: shots.reduce((n, s) => n + s.keyframes.length, 0),
    clips: shots.filter(clipDone).length,
    clipsTotal: shots.length,
  };
}
