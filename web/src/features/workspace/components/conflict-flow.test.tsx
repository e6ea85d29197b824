// Autosave and conflict, as the user sees them: typing saves after a pause; a 409 opens the
// dialog; either choice leaves nothing lost silently.
import { useSyncExternalStore } from 'react';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '@/api/errors';
import type { Project } from '@/api/types';
import { I18nProvider } from '@/i18n';
import { project } from '@/test/fixtures';
import { ProjectContext } from '../project-context';
import { ProjectEditor, type EditorBackend } from '../project-editor';
import { ConflictDialog } from './conflict-dialog';
import { SaveIndicator } from './save-indicator';

function Harness({ editor }: { editor: ProjectEditor }) {
  const state = useSyncExternalStore(editor.subscribe, editor.getState);
  const value = { project: state.project, editor, state, canEdit: true, change: editor.change.bind(editor), reload: async () => undefined };
  return (
    <ProjectContext.Provider value={value}>
      <label>
        script
        <textarea value={state.project.raw_script} onChange={(e) => editor.change({ raw_script: e.target.value })} />
      </label>
      <SaveIndicator />
      {state.status === 'conflict' && <ConflictDialog />}
    </ProjectContext.Provider>
  );
}

function setup(initial: Project) {
  let current = initial;
  const backend: EditorBackend = {
    save: vi.fn(async (_id, version, change) => {
      if (version !== current.version) throw new ApiError('CONFLICT', 'stale', 409, { current_version: current.version });
      current = { ...current, ...change, version: current.version + 1 };
      return current;
    }),
    load: vi.fn(async () => current),
  };
  const editor = new ProjectEditor(initial, backend, 20);
  render(
    <I18nProvider>
      <Harness editor={editor} />
    </I18nProvider>,
  );
  return { backend, server: () => current, elsewhere: (change: Partial<Project>) => (current = { ...current, ...change, version: current.version + 1 }) };
}

describe('autosave with conflicts', () => {
  it('saves typing after a pause', async () => {
    const { server } = setup(project());
    await userEvent.type(screen.getByLabelText('script'), '第一场');
    await waitFor(() => expect(screen.getByTestId('save-status')).toHaveAttribute('data-status', 'saved'));
    expect(server().raw_script).toBe('第一场');
  });

  it('asks the user on a conflict; "keep my change" saves on top', async () => {
    const { server, elsewhere } = setup(project({ raw_script: 'base' }));
    elsewhere({ raw_script: 'their text', updated_by: 'someone-else' });
    await userEvent.type(screen.getByLabelText('script'), '!');
    const dialog = await screen.findByRole('dialog', { name: '项目在别处被修改了' });
    expect(dialog).toHaveTextContent('版本 2');
    // It says where the other change came from and which content both sides changed.
    expect(screen.getByTestId('conflict-source')).toHaveTextContent('另一位成员');
    expect(screen.getByTestId('conflict-fields')).toHaveTextContent('双方都改了：剧本原文');
    expect(screen.getByLabelText('script')).toHaveValue('base!');
    await userEvent.click(screen.getByRole('button', { name: '保留我的修改' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    expect(server()).toMatchObject({ raw_script: 'base!', version: 3 });
  });

  it('"load latest" shows their version and drops the draft', async () => {
    const { server, elsewhere } = setup(project({ raw_script: 'base' }));
    elsewhere({ raw_script: 'their text' });
    await userEvent.type(screen.getByLabelText('script'), '?');
    await userEvent.click(await screen.findByRole('button', { name: '载入最新版本' }));
    await waitFor(() => expect(screen.getByLabelText('script')).toHaveValue('their text'));
    expect(server()).toMatchObject({ raw_script: 'their text', version: 2 });
  });
});
