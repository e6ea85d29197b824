// How many items a batch would make now, counted as the server counts them
// (crates/server/src/ai/batch_plan.rs), so a batch button can say "all generated" instead of
// offering a request the server would refuse.
import type { Project } from '@/api/types';
import type { BatchKind } from './generation';

const has = (url?: string | null, fileId?: string | null) => !!(fileId || url);

/** Whether a shot's dialogue holds anything to say (the server skips lines of punctuation only). */
export const hasDialogue = (dialogue?: string) => /[\p{L}\p{N}]/u.test(dialogue ?? '');

export function missingItems(project: Project, kind: BatchKind): number {
  switch (kind) {
    case 'images': {
      const characters = project.script_data?.characters ?? [];
      const scenes = project.script_data?.scenes ?? [];
      let items = 0;
      for (const character of characters) {
        // A missing base look is one item (its variations follow in it); else each missing variation is one.
        if (!has(character.referenceImage, character.referenceImageFileId)) items += 1;
        else items += character.variations.filter((v) => !has(v.referenceImage, v.referenceImageFileId)).length;
      }
      return items + scenes.filter((s) => !has(s.referenceImage, s.referenceImageFileId)).length;
    }
    case 'keyframes':
      return project.shots.reduce((n, shot) => n + shot.keyframes.filter((k) => !has(k.imageUrl, k.imageFileId)).length, 0);
    case 'clips':
      return project.shots.filter(
        (shot) => !has(shot.interval?.videoUrl, shot.interval?.videoFileId) && shot.keyframes.some((k) => k.type === 'start' || k.type === 'full'),
      ).length;
    case 'voices':
      return project.shots.filter((shot) => hasDialogue(shot.dialogue) && !has(shot.voice?.audioUrl, shot.voice?.audioFileId)).length;
  }
}
