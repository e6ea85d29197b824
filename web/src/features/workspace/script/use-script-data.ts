import type { ScriptData, Shot } from '@/api/types';
import { useProject } from '../project-context';

/** The script documents with setters that go through the autosaving editor. */
export function useScriptData() {
  const { project, change, canEdit } = useProject();
  const data = project.script_data;
  const update = (patch: Partial<ScriptData>) => {
    if (data) change({ script_data: { ...data, ...patch } });
  };
  const setShots = (shots: Shot[]) => change({ shots });
  return { data, shots: project.shots, update, setShots, canEdit };
}
