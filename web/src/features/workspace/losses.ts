// What deleting an item of the documents takes with it, in the creator's words: the generated
// pictures and clips it holds. An item that holds none is deleted without asking (undo brings
// it back); one that holds some asks first, naming them.
import type { Character, Scene, Shot } from '@/api/types';
import type { Translate } from '@/i18n';

export function shotLosses(shot: Shot, t: Translate): string[] {
  const lost: string[] = [];
  for (const keyframe of shot.keyframes) {
    if (keyframe.imageUrl || keyframe.imageFileId) lost.push(t(`losses.keyframe_${keyframe.type}`));
  }
  if (shot.interval?.videoUrl || shot.interval?.videoFileId) lost.push(t('losses.clip'));
  return lost;
}

export function characterLosses(character: Character, t: Translate): string[] {
  const lost: string[] = [];
  if (character.referenceImage || character.referenceImageFileId) lost.push(t('losses.look'));
  const variations = character.variations.filter((v) => v.referenceImage || v.referenceImageFileId).length;
  if (variations > 0) lost.push(t('losses.variations', { n: variations }));
  return lost;
}

export function sceneLosses(scene: Scene, t: Translate): string[] {
  return scene.referenceImage || scene.referenceImageFileId ? [t('losses.concept')] : [];
}
