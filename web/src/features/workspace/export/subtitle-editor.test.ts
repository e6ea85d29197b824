import { describe, expect, it } from 'vitest';
import { draftsOf, subtitlesOf } from './subtitle-editor';

describe('subtitle edits', () => {
  const cue = { shot_id: 's2', shot_start_ms: 4000, start_ms: 4500, end_ms: 6250, speaker: '林晚舟', text: '走。', edited: false };

  it('shows times from the shot’s first frame', () => {
    expect(draftsOf([cue])).toEqual([{ text: '走。', speaker: '林晚舟', start: '0.5', end: '2.25' }]);
  });

  it('saves rows as the shot’s subtitles, and names the first bad row', () => {
    expect(subtitlesOf([{ text: ' 走。 ', speaker: '', start: '0.5', end: '2' }])).toEqual({ subtitles: [{ text: '走。', start: 0.5, end: 2 }] });
    expect(subtitlesOf([{ text: '走', speaker: '', start: '0', end: '1' }, { text: '停', speaker: '', start: '2', end: '1' }])).toEqual({ invalid: 1 });
    expect(subtitlesOf([{ text: ' ', speaker: '', start: '0', end: '1' }])).toEqual({ invalid: 0 });
  });
});
