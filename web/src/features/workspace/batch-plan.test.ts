import { describe, expect, it } from 'vitest';
import type { Project } from '@/api/types';
import { project } from '@/test/fixtures';
import { missingItems } from './batch-plan';
import { shotLosses } from './losses';
import { translate } from '@/i18n';

const t = (key: Parameters<typeof translate>[1], vars?: Record<string, string | number>) => translate('zh', key, vars);

const withDocs = () =>
  project({
    script_data: {
      title: '',
      genre: '',
      logline: '',
      characters: [
        { id: 'c1', name: '甲', gender: '', age: '', personality: '', variations: [{ id: 'v1', name: '蓑衣', visualPrompt: '' }] },
        { id: 'c2', name: '乙', gender: '', age: '', personality: '', referenceImageFileId: 'f1', variations: [{ id: 'v2', name: '', visualPrompt: '' }] },
      ],
      scenes: [{ id: 's1', location: '渡口', time: '', atmosphere: '', referenceImage: '/files/x' }],
      storyParagraphs: [],
    },
    shots: [
      { id: 'a', sceneId: 's1', actionSummary: '', cameraMovement: '', characters: [], keyframes: [{ id: 'a-start', type: 'start', visualPrompt: '', status: 'completed', imageFileId: 'f2' }, { id: 'a-end', type: 'end', visualPrompt: '', status: 'pending' }], interval: { id: 'a-clip', startKeyframeId: 'a-start', endKeyframeId: 'a-end', duration: 5, motionStrength: 5, status: 'completed', videoFileId: 'f3' } },
      { id: 'b', sceneId: 's1', actionSummary: '', cameraMovement: '', characters: [], keyframes: [{ id: 'b-start', type: 'start', visualPrompt: '', status: 'pending' }] },
      { id: 'c', sceneId: 's1', actionSummary: '', cameraMovement: '', characters: [], keyframes: [] },
    ],
  } as Partial<Project>);

describe('what a batch would make', () => {
  it('counts as the server does', () => {
    const p = withDocs();
    // c1's look (its variation rides along), c2's missing variation; the scene has its image.
    expect(missingItems(p, 'images')).toBe(2);
    expect(missingItems(p, 'keyframes')).toBe(2);
    // b has a start frame and no clip; a has its clip; c has no frame to start from.
    expect(missingItems(p, 'clips')).toBe(1);
    expect(missingItems(project(), 'keyframes')).toBe(0);
  });

  it('names what deleting a shot takes with it', () => {
    const [a, b] = withDocs().shots;
    expect(shotLosses(a, t)).toEqual(['首帧画面', '视频片段']);
    expect(shotLosses(b, t)).toEqual([]);
  });
});
