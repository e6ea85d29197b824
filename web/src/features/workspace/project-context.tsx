// The open project, shared by the workspace's stages.
import { createContext, useContext } from 'react';
import type { Project } from '@/api/types';
import type { EditorState, ProjectChange, ProjectEditor } from './project-editor';

export interface ProjectContextValue {
  project: Project;
  editor: ProjectEditor;
  state: EditorState;
  canEdit: boolean;
  change: (change: ProjectChange) => void;
  /** Reloads the project from the server (after a generation was queued, say). */
  reload: () => Promise<void>;
}

export const ProjectContext = createContext<ProjectContextValue | null>(null);

export function useProject(): ProjectContextValue {
  const value = useContext(ProjectContext);
  if (!value) throw new Error('useProject outside the workspace');
  return value;
}
