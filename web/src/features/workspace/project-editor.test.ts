import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '@/api/errors';
import type { Project } from '@/api/types';
import { project } from '@/test/fixtures';
import { ProjectEditor, type EditorBackend, type ProjectChange } from './project-editor';

/** A server with one project and optimistic concurrency, like the real one. */
function fakeServer(initial: Project) {
  let current = initial;
  const saves: { version: number; change: ProjectChange }[] = [];
  const backend: EditorBackend = {
    save: vi.fn(async (_id, version, change) => {
      saves.push({ version, change });
      if (version !== current.version) {
        throw new ApiError('CONFLICT', 'stale', 409, { current_version: current.version });
      }
      current = { ...current, ...change, version: current.version + 1 };
      return current;
    }),
    load: vi.fn(async () => current),
  };
  return {
    backend,
    saves,
    current: () => current,
    /** Someone else (another tab, a finished generation) changes the project. */
    changeElsewhere: (change: Partial<Project>) => {
      current = { ...current, ...change, version: current.version + 1 };
    },
  };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('the project editor', () => {
  it('saves one second after the last change, naming the version it read', async () => {
    const server = fakeServer(project());
    const editor = new ProjectEditor(server.current(), server.backend);
    editor.change({ raw_script: 'a' });
    await vi.advanceTimersByTimeAsync(600);
    editor.change({ raw_script: 'ab' });
    expect(editor.getState()).toMatchObject({ status: 'dirty', project: { raw_script: 'ab' } });
    await vi.advanceTimersByTimeAsync(999);
    expect(server.saves).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.saves).toEqual([{ version: 1, change: { raw_script: 'ab' } }]);
    expect(editor.getState()).toMatchObject({ status: 'saved', project: { version: 2, raw_script: 'ab' } });
  });

  it('keeps a change made while a save is on its way, and saves it next', async () => {
    const server = fakeServer(project());
    let release: () => void = () => undefined;
    const save = server.backend.save;
    server.backend.save = (...args) => new Promise((resolve) => (release = () => resolve(save(...args))));
    const editor = new ProjectEditor(server.current(), server.backend);
    editor.change({ title: 'one' });
    await vi.advanceTimersByTimeAsync(1000);
    expect(editor.getState().status).toBe('saving');
    editor.change({ raw_script: 'typed meanwhile' });
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(editor.getState()).toMatchObject({ status: 'dirty', project: { title: 'one', raw_script: 'typed meanwhile' } });
    await vi.advanceTimersByTimeAsync(1000);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(server.saves.map((s) => s.version)).toEqual([1, 2]);
    expect(server.current()).toMatchObject({ title: 'one', raw_script: 'typed meanwhile', version: 3 });
  });

  it('stops at a conflict on the same field; "reload" takes theirs', async () => {
    const server = fakeServer(project({ raw_script: 'base' }));
    const editor = new ProjectEditor(server.current(), server.backend);
    server.changeElsewhere({ raw_script: 'theirs' });
    editor.change({ raw_script: 'mine' });
    await vi.advanceTimersByTimeAsync(1000);
    expect(editor.getState()).toMatchObject({ status: 'conflict', conflictVersion: 2, project: { raw_script: 'mine' } });
    // Nothing is saved by itself while the user decides.
    editor.change({ raw_script: 'mine, more' });
    await vi.advanceTimersByTimeAsync(5000);
    expect(server.saves).toHaveLength(1);
    await editor.reload();
    expect(editor.getState()).toMatchObject({ status: 'saved', project: { raw_script: 'theirs', version: 2 } });
  });

  it('"keep mine" saves the change on top of the current version', async () => {
    const server = fakeServer(project({ raw_script: 'base' }));
    const editor = new ProjectEditor(server.current(), server.backend);
    server.changeElsewhere({ raw_script: 'theirs' });
    editor.change({ raw_script: 'mine' });
    await vi.advanceTimersByTimeAsync(1000);
    expect(editor.getState().status).toBe('conflict');
    await editor.keepMine();
    expect(server.current()).toMatchObject({ raw_script: 'mine', version: 3 });
    expect(editor.getState()).toMatchObject({ status: 'saved', project: { raw_script: 'mine', version: 3 } });
  });

  it('saves on top by itself when the other change touched none of its fields', async () => {
    const server = fakeServer(project({ raw_script: 'base' }));
    const editor = new ProjectEditor(server.current(), server.backend);
    server.changeElsewhere({ merged_video_url: '/files/film.mp4' });
    editor.change({ raw_script: 'mine' });
    await vi.runAllTimersAsync();
    expect(server.saves.map((s) => s.version)).toEqual([1, 2]);
    expect(server.current()).toMatchObject({ raw_script: 'mine', merged_video_url: '/files/film.mp4', version: 3 });
    expect(editor.getState()).toMatchObject({ status: 'saved', conflictVersion: null });
  });

  it('takes newer copies from the server while nothing is pending, and keeps the draft on screen otherwise', () => {
    const server = fakeServer(project({ title: 'A' }));
    const editor = new ProjectEditor(server.current(), server.backend);
    editor.receive(project({ title: 'B', version: 2 }));
    expect(editor.getState().project).toMatchObject({ title: 'B', version: 2 });
    editor.change({ title: 'mine' });
    editor.receive(project({ title: 'C', version: 3, raw_script: 'new text' }));
    expect(editor.getState().project).toMatchObject({ title: 'mine', raw_script: 'new text' });
    // An older copy (a slow refetch) never replaces a newer one.
    editor.receive(project({ title: 'old', version: 1 }));
    expect(editor.getState().project.raw_script).toBe('new text');
  });

  it('reports other failures and saves again on flush', async () => {
    const server = fakeServer(project());
    const save = server.backend.save;
    server.backend.save = vi.fn().mockRejectedValueOnce(new ApiError('NETWORK_ERROR', 'down', 0)).mockImplementation(save);
    const editor = new ProjectEditor(server.current(), server.backend);
    editor.change({ title: 'x' });
    await vi.advanceTimersByTimeAsync(1000);
    expect(editor.getState().status).toBe('error');
    await editor.flush();
    expect(editor.getState()).toMatchObject({ status: 'saved', project: { title: 'x' } });
  });
});

describe('the project editor without a server', () => {
  it('saves by itself once the server answers again, waiting longer each time', async () => {
    const server = fakeServer(project());
    const save = server.backend.save;
    const down = () => Promise.reject(new ApiError('NETWORK_ERROR', 'down', 0));
    server.backend.save = vi.fn().mockImplementationOnce(down).mockImplementationOnce(down).mockImplementation(save);
    const editor = new ProjectEditor(server.current(), server.backend);
    editor.change({ title: 'kept' });
    await vi.advanceTimersByTimeAsync(1000);
    expect(editor.getState().status).toBe('error');
    await vi.advanceTimersByTimeAsync(2000);
    expect(server.backend.save).toHaveBeenCalledTimes(2);
    expect(editor.getState().status).toBe('error');
    await vi.advanceTimersByTimeAsync(4999);
    expect(server.backend.save).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(editor.getState()).toMatchObject({ status: 'saved', error: null, project: { title: 'kept' } });
  });

  it('does not repeat a save the server refused for a reason of its own', async () => {
    const server = fakeServer(project());
    server.backend.save = vi.fn().mockRejectedValue(new ApiError('VALIDATION_ERROR', 'bad', 422));
    const editor = new ProjectEditor(server.current(), server.backend);
    editor.change({ title: '' });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(server.backend.save).toHaveBeenCalledTimes(1);
    expect(editor.getState().status).toBe('error');
  });
});

describe('the project editor merging after a conflict', () => {
  const shot = (id: string, extra: Record<string, unknown> = {}) =>
    ({ id, sceneId: 's', actionSummary: id, cameraMovement: '', characters: [], keyframes: [], ...extra }) as Project['shots'][number];

  it('keeps an edit of one shot and an image a generation wrote into another, without asking', async () => {
    const server = fakeServer(project({ shots: [shot('a'), shot('b')] }));
    const editor = new ProjectEditor(server.current(), server.backend);
    server.changeElsewhere({ shots: [shot('a'), shot('b', { keyframes: [{ id: 'b-start', type: 'start', visualPrompt: '', status: 'completed', imageFileId: 'f1' }] })] });
    editor.change({ shots: [shot('a', { actionSummary: 'rewritten' }), shot('b')] });
    await vi.runAllTimersAsync();
    expect(editor.getState().status).toBe('saved');
    expect(server.current().shots.map((s) => [s.actionSummary, s.keyframes[0]?.imageFileId])).toEqual([
      ['rewritten', undefined],
      ['b', 'f1'],
    ]);
  });

  it('"keep mine" keeps their untouched changes too', async () => {
    const server = fakeServer(project({ shots: [shot('a'), shot('b')] }));
    const editor = new ProjectEditor(server.current(), server.backend);
    server.changeElsewhere({ shots: [shot('a', { actionSummary: 'theirs' }), shot('b', { dialogue: 'their line' })] });
    editor.change({ shots: [shot('a', { actionSummary: 'mine' }), shot('b')] });
    await vi.advanceTimersByTimeAsync(1000);
    expect(editor.getState().status).toBe('conflict');
    await editor.keepMine();
    expect(server.current().shots.map((s) => [s.actionSummary, s.dialogue])).toEqual([
      ['mine', undefined],
      ['b', 'their line'],
    ]);
  });

  describe('undo and redo', () => {
    const shot = (id: string, extra: Record<string, unknown> = {}) => ({ id, sceneId: 's1', actionSummary: id, cameraMovement: '', characters: [], keyframes: [], ...extra });

    it('takes back a deleted shot and does it again, and saves each', async () => {
      const server = fakeServer(project({ shots: [shot('a'), shot('b')] as Project['shots'] }));
      const editor = new ProjectEditor(server.current(), server.backend);
      expect(editor.getState()).toMatchObject({ canUndo: false, canRedo: false });
      editor.change({ shots: [shot('a')] as Project['shots'] });
      await vi.advanceTimersByTimeAsync(1000);
      editor.undo();
      expect(editor.getState().project.shots.map((s) => s.id)).toEqual(['a', 'b']);
      expect(editor.getState()).toMatchObject({ canUndo: false, canRedo: true, status: 'dirty' });
      await vi.advanceTimersByTimeAsync(1000);
      expect(server.current().shots.map((s) => s.id)).toEqual(['a', 'b']);
      editor.redo();
      expect(editor.getState().project.shots.map((s) => s.id)).toEqual(['a']);
      expect(editor.getState()).toMatchObject({ canUndo: true, canRedo: false });
    });

    it('groups keystrokes into one step and starts a new one after a pause', async () => {
      const server = fakeServer(project({ raw_script: '' }));
      const editor = new ProjectEditor(server.current(), server.backend);
      editor.change({ raw_script: 'h' });
      await vi.advanceTimersByTimeAsync(300);
      editor.change({ raw_script: 'hi' });
      await vi.advanceTimersByTimeAsync(1500);
      editor.change({ raw_script: 'hi there' });
      editor.undo();
      expect(editor.getState().project.raw_script).toBe('hi');
      editor.undo();
      expect(editor.getState().project.raw_script).toBe('');
      expect(editor.getState().canUndo).toBe(false);
    });

    it('keeps what a generation wrote meanwhile into another shot', async () => {
      const server = fakeServer(project({ shots: [shot('a'), shot('b')] as Project['shots'] }));
      const editor = new ProjectEditor(server.current(), server.backend);
      editor.change({ shots: [shot('a', { actionSummary: 'edited' }), shot('b')] as Project['shots'] });
      await vi.advanceTimersByTimeAsync(1000);
      // A keyframe lands in shot b on the server, and the editor receives the newer project.
      const withImage = [shot('a', { actionSummary: 'edited' }), shot('b', { keyframes: [{ id: 'k', type: 'start', visualPrompt: '', status: 'completed', imageUrl: '/f/1' }] })];
      server.changeElsewhere({ shots: withImage as Project['shots'] });
      editor.receive(server.current());
      editor.undo();
      const [a, b] = editor.getState().project.shots;
      expect(a.actionSummary).toBe('a');
      expect(b.keyframes[0]).toMatchObject({ imageUrl: '/f/1' });
    });

    it('does not count a stage switch as an edit, nor show it as unsaved', async () => {
      const server = fakeServer(project());
      const editor = new ProjectEditor(server.current(), server.backend);
      const seen: string[] = [];
      editor.subscribe((state) => seen.push(state.status));
      editor.change({ stage: 'director' });
      expect(editor.getState()).toMatchObject({ canUndo: false, status: 'saved' });
      await vi.advanceTimersByTimeAsync(1000);
      expect(server.current().stage).toBe('director');
      expect(seen.every((status) => status === 'saved')).toBe(true);
      editor.change({ title: 'real work' });
      expect(editor.getState().status).toBe('dirty');
    });

    it('forgets what was undone once a new edit is made', () => {
      const server = fakeServer(project());
      const editor = new ProjectEditor(server.current(), server.backend);
      editor.change({ title: 'one' });
      editor.undo();
      editor.change({ raw_script: 'other' });
      expect(editor.getState().canRedo).toBe(false);
    });
  });
});
