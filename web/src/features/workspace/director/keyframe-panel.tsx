// One keyframe of a shot: its image, its prompt (autosaved as a merge patch one second after the
// last keystroke) and its actions.
import { useEffect, useRef, useState } from 'react';
import { Button } from '@/components/button';
import { ConfirmDialog } from '@/components/confirm-dialog';
import { TextArea } from '@/components/field';
import { ErrorNote, StatusBadge } from '@/components/feedback';
import { ImageSlot } from '@/components/image-preview';
import { useI18n, type MessageKey } from '@/i18n';
import type { Keyframe, Shot } from '@/api/types';
import { AUTOSAVE_DELAY_MS } from '../project-editor';
import { useProject } from '../project-context';
import { generateImage, slotKey } from '../generation';
import { GenerateButton } from '../components/generate-button';
import { useSlotTask } from '../use-slot-task';
import { deleteFile, patchKeyframe, patchShot } from '../shot-api';
import { StaleMark, TakesStrip } from '@/features/takes/takes-strip';
import { targetSlotKey } from '@/features/takes/takes-api';

export function KeyframePanel({ shot, keyframe, aspect }: { shot: Shot; keyframe: Keyframe; aspect: string }) {
  const { t } = useI18n();
  const { project, canEdit, reload } = useProject();
  const target = { type: 'keyframe' as const, shot_id: shot.id, keyframe_id: keyframe.id };
  const task = useSlotTask(slotKey(target));
  const [prompt, setPrompt] = useState(keyframe.visualPrompt);
  const [error, setError] = useState<unknown>(null);
  // Deleting a picture cannot be undone (its file goes), so it is asked about first.
  const [confirming, setConfirming] = useState<'image' | 'frame' | null>(null);
  const dirty = useRef(false);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const promptRef = useRef(prompt);
  promptRef.current = prompt;

  // Follow the server's prompt unless the user is in the middle of changing it.
  useEffect(() => {
    if (!dirty.current) setPrompt(keyframe.visualPrompt);
  }, [keyframe.visualPrompt]);

  const savePrompt = async (text: string) => {
    try {
      await patchKeyframe(project.id, shot.id, keyframe.id, { visualPrompt: text });
      // Typed on while this was saving: stay dirty, the next save is already scheduled.
      if (promptRef.current === text) dirty.current = false;
      await reload();
    } catch (cause) {
      setError(cause);
    }
  };

  const edit = (text: string) => {
    dirty.current = true;
    setPrompt(text);
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => {
      timer.current = null;
      void savePrompt(text);
    }, AUTOSAVE_DELAY_MS);
  };

  // Flush a pending prompt when the panel goes away (another shot picked).
  useEffect(
    () => () => {
      if (timer.current && dirty.current) {
        clearTimeout(timer.current);
        void patchKeyframe(project.id, shot.id, keyframe.id, { visualPrompt: promptRef.current });
      }
    },
    // Only at unmount: the ids are fixed for this panel's life (it is keyed by keyframe).
    [],
  );

  const removeImage = async () => {
    setError(null);
    try {
      const fileId = keyframe.imageFileId;
      await patchKeyframe(project.id, shot.id, keyframe.id, { imageFileId: null, imageUrl: null, status: 'pending' });
      if (fileId) await deleteFile(fileId).catch(() => undefined);
      await reload();
    } catch (cause) {
      setError(cause);
    }
  };

  // The start frame stays (a clip starts from it); an end or grid frame can go again.
  const removeFrame = async () => {
    setError(null);
    try {
      const patch: Record<string, unknown> = { keyframes: shot.keyframes.filter((k) => k.id !== keyframe.id) };
      if (shot.interval?.endKeyframeId === keyframe.id) patch.interval = { endKeyframeId: null };
      await patchShot(project.id, shot.id, patch);
      if (keyframe.imageFileId) await deleteFile(keyframe.imageFileId).catch(() => undefined);
      await reload();
    } catch (cause) {
      setError(cause);
    }
  };

  const label = t(`director.frame.${keyframe.type}` as MessageKey);
  return (
    <section className="flex flex-col gap-2 rounded-md border border-stone-200 bg-white p-3" data-testid={`keyframe-${keyframe.type}`}>
      <div className="flex items-center gap-2">
        <h4 className="mr-auto text-sm font-semibold">{label}</h4>
        <StaleMark stale={keyframe.stale} />
        <StatusBadge status={task ? 'generating' : keyframe.status} of="slot" />
      </div>
      <ImageSlot url={keyframe.imageUrl} alt={label} aspect={aspect} busy={!!task || keyframe.status === 'generating'} />
      <TakesStrip slot={targetSlotKey(target)} taskSlot={slotKey(target)} />
      <TextArea label={t('script.visualPrompt')} rows={3} disabled={!canEdit} value={prompt} onChange={(e) => edit(e.target.value)} />
      <div className="flex flex-wrap items-start gap-2">
        <GenerateButton
          slot={slotKey(target)}
          busyElsewhere={keyframe.status === 'generating'}
          label={keyframe.imageUrl ? t('common.regenerate') : t('common.generate')}
          start={async () => {
            if (dirty.current) await savePrompt(prompt);
            return generateImage(project.id, target);
          }}
        />
        {keyframe.imageUrl && (
          <Button size="sm" variant="ghost" disabled={!canEdit} onClick={() => setConfirming('image')}>
            {t('director.deleteImage')}
          </Button>
        )}
        {keyframe.type !== 'start' && (
          <Button size="sm" variant="ghost" disabled={!canEdit || !!task} onClick={() => (keyframe.imageUrl ? setConfirming('frame') : void removeFrame())}>
            {t('director.removeFrame')}
          </Button>
        )}
      </div>
      <ErrorNote error={error} />
      {confirming && (
        <ConfirmDialog
          danger
          title={confirming === 'image' ? t('director.deleteImageTitle', { frame: label }) : t('director.removeFrameTitle', { frame: label })}
          body={t('director.deletePictureBody')}
          confirmLabel={t('losses.confirm')}
          onClose={() => setConfirming(null)}
          onConfirm={() => {
            const run = confirming === 'image' ? removeImage : removeFrame;
            setConfirming(null);
            void run();
          }}
        />
      )}
    </section>
  );
}
