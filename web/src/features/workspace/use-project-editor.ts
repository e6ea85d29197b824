import { useEffect, useState, useSyncExternalStore } from 'react';
import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import type { Project } from '@/api/types';
import { getProject, projectKeys, updateProject } from '@/features/projects/api/projects';
import { ProjectEditor, type EditorBackend } from './project-editor';

/** The editor's server side; what it saves also becomes the cached project, so a later visit starts from it. */
function editorBackend(client: QueryClient): EditorBackend {
  const remember = (project: Project) => {
    client.setQueryData(projectKeys.detail(project.id), project);
    return project;
  };
  return {
    save: (id, version, change) => updateProject(id, version, change).then(remember),
    load: (id) => getProject(id).then(remember),
  };
}

/** One editor per open project, fed with every newer copy the query brings. */
export function useProjectEditor(project: Project | undefined) {
  const client = useQueryClient();
  const [editor, setEditor] = useState<ProjectEditor | null>(null);
  const id = project?.id;

  useEffect(() => {
    if (!project) return;
    const created = new ProjectEditor(project, editorBackend(client));
    setEditor(created);
    const flush = () => void created.flush();
    window.addEventListener('pagehide', flush);
    // Back online: save what waited at once rather than at the next retry.
    window.addEventListener('online', flush);
    return () => {
      window.removeEventListener('pagehide', flush);
      window.removeEventListener('online', flush);
      void created.flush().finally(() => created.dispose());
    };
    // A new editor only when another project opens; newer copies go through `receive`.
  }, [id]);

  useEffect(() => {
    if (editor && project && project.id === editor.getState().project.id) editor.receive(project);
  }, [editor, project]);

  const state = useSyncExternalStore(
    (listener) => (editor ? editor.subscribe(listener) : () => undefined),
    () => editor?.getState() ?? null,
  );
  return { editor, state };
}
