// A project's workspace: sidebar with the four stages and the project settings, the stage
// itself, the save status, the conflict dialog and the task tray.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { NavLink, Outlet, useLocation, useParams } from 'react-router';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { projectKeys, projectQuery } from '@/features/projects/api/projects';
import { TaskTray } from '@/features/tasks/task-tray';
import { useFeedState } from '@/features/tasks/feed-context';
import { ErrorNote, Spinner } from '@/components/feedback';
import { LanguageSwitch } from '@/components/language-switch';
import { useI18n, type MessageKey } from '@/i18n';
import { ProjectContext, type ProjectContextValue } from './project-context';
import { useProjectEditor } from './use-project-editor';
import { ConflictDialog } from './components/conflict-dialog';
import { SaveIndicator } from './components/save-indicator';
import { UndoControls } from './components/undo-controls';
import { ProjectSettingsDialog } from './components/project-settings-dialog';
import { HistoryPanel } from './history/history-panel';

const STAGES = ['script', 'assets', 'director', 'export'] as const;
const NARROW = '(max-width: 767px)';

export function WorkspacePage() {
  const { projectId = '' } = useParams();
  const { t } = useI18n();
  const client = useQueryClient();
  const query = useQuery(projectQuery(projectId));
  const { editor, state } = useProjectEditor(query.data);
  const feed = useFeedState();
  // On a phone the sidebar starts folded, leaving the width to the stage.
  const [collapsed, setCollapsed] = useState(() => window.matchMedia?.(NARROW).matches ?? false);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [historyOpen, setHistoryOpen] = useState(false);
  const mainRef = useRef<HTMLElement>(null);
  const { pathname } = useLocation();
  // Each stage starts at its top: the scrolling area is shared by all of them.
  useEffect(() => {
    // Braces matter: newer browsers answer scrollTo with a promise, which is no effect cleanup.
    mainRef.current?.scrollTo?.({ top: 0 });
  }, [pathname]);

  const reload = useCallback(async () => {
    await client.invalidateQueries({ queryKey: projectKeys.detail(projectId) });
  }, [client, projectId]);

  const value = useMemo<ProjectContextValue | null>(() => {
    if (!editor || !state) return null;
    return {
      project: state.project,
      editor,
      state,
      canEdit: state.project.role !== 'viewer',
      change: (change) => editor.change(change),
      reload,
    };
  }, [editor, state, reload]);

  // Remember the stage the user works in, so the project list reopens the project there.
  const stage = STAGES.find((name) => pathname.endsWith(`/${name}`));
  useEffect(() => {
    if (value && value.canEdit && stage && value.project.stage !== stage) value.change({ stage });
  }, [stage, value]);

  if (query.error) {
    return (
      <div className="p-8">
        <ErrorNote error={query.error} />
        <NavLink to="/" className="mt-4 inline-block text-amber-700 hover:underline">
          ← {t('workspace.back')}
        </NavLink>
      </div>
    );
  }
  if (!value) {
    return (
      <div className="flex h-screen items-center justify-center">
        <Spinner label={t('common.loading')} />
      </div>
    );
  }

  const { project } = value;
  return (
    <ProjectContext.Provider value={value}>
      <div className="flex h-screen overflow-hidden">
        <aside className={`flex shrink-0 flex-col border-r border-stone-200 bg-white transition-[width] ${collapsed ? 'w-14' : 'w-60'}`}>
          <div className="flex items-center gap-2 border-b border-stone-200 p-3">
            {!collapsed && (
              <NavLink to="/" className="mr-auto truncate text-xs text-stone-500 hover:text-stone-900">
                ← {t('workspace.back')}
              </NavLink>
            )}
            <button
              type="button"
              onClick={() => setCollapsed((c) => !c)}
              aria-label={collapsed ? t('workspace.expand') : t('workspace.collapse')}
              className="rounded p-1 text-stone-500 hover:bg-stone-100"
            >
              {collapsed ? '»' : '«'}
            </button>
          </div>
          {!collapsed && <h1 className="truncate px-4 pt-4 pb-2 text-sm font-semibold" title={project.title}>{project.title}</h1>}
          <nav className="flex flex-col gap-0.5 px-2" aria-label="stages">
            {STAGES.map((stage, index) => (
              <NavLink
                key={stage}
                to={stage}
                title={t(`stage.${stage}` as MessageKey)}
                aria-label={t(`stage.${stage}` as MessageKey)}
                className={({ isActive }) =>
                  `flex items-center gap-3 rounded-md px-2 py-2 text-sm ${isActive ? 'bg-stone-900 text-white' : 'text-stone-700 hover:bg-stone-100'}`
                }
              >
                <span className="font-mono text-xs opacity-80">0{index + 1}</span>
                {!collapsed && <span>{t(`stage.${stage}` as MessageKey)}</span>}
              </NavLink>
            ))}
          </nav>
          <div className="mt-auto flex flex-col gap-2 border-t border-stone-200 p-3">
            <SaveIndicator compact={collapsed} />
            <UndoControls compact={collapsed} />
            <button type="button" onClick={() => setHistoryOpen(true)} className="rounded-md px-2 py-1.5 text-left text-sm text-stone-700 hover:bg-stone-100" aria-label={t('history.title')}>
              🕘{!collapsed && ` ${t('history.title')}`}
            </button>
            <button type="button" onClick={() => setSettingsOpen(true)} className="rounded-md px-2 py-1.5 text-left text-sm text-stone-700 hover:bg-stone-100">
              ⚙{!collapsed && ` ${t('project.settings')}`}
            </button>
            {!collapsed && <LanguageSwitch className="self-start" />}
          </div>
        </aside>
        <main ref={mainRef} className="min-w-0 flex-1 overflow-y-auto bg-stone-50">
          {!value.canEdit && <p className="bg-amber-50 px-6 py-2 text-sm text-amber-800">{t('workspace.readOnly')}</p>}
          <Outlet />
        </main>
      </div>
      {settingsOpen && <ProjectSettingsDialog onClose={() => setSettingsOpen(false)} />}
      {historyOpen && <HistoryPanel onClose={() => setHistoryOpen(false)} />}
      {state?.status === 'conflict' && <ConflictDialog />}
      <TaskTray projectId={project.id} feed={feed} />
    </ProjectContext.Provider>
  );
}
