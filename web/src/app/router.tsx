import { createBrowserRouter, Navigate, Outlet } from 'react-router';
import { LoginPage, RegisterPage } from '@/features/auth/auth-pages';
import { RequireAuth } from '@/features/auth/require-auth';
import { DashboardPage } from '@/features/projects/dashboard-page';
import { TaskFeedProvider } from '@/features/tasks/feed-context';
import { WorkspacePage } from '@/features/workspace/workspace-page';
import { ScriptStage } from '@/features/workspace/script/script-stage';
import { AssetsStage } from '@/features/workspace/assets/assets-stage';
import { DirectorStage } from '@/features/workspace/director/director-stage';
import { ExportStage } from '@/features/workspace/export/export-stage';
import { SettingsPage } from '@/features/settings/settings-page';
import { AccountPage } from '@/features/account/account-page';
import { AppLayout } from './app-layout';
import { RouteError } from './route-error';

function SignedInRoot() {
  return (
    <RequireAuth>
      <TaskFeedProvider>
        <Outlet />
      </TaskFeedProvider>
    </RequireAuth>
  );
}

export const router = createBrowserRouter([
  { path: '/login', element: <LoginPage /> },
  { path: '/register', element: <RegisterPage /> },
  {
    element: <SignedInRoot />,
    errorElement: <RouteError />,
    children: [
      {
        element: <AppLayout />,
        children: [
          { index: true, element: <DashboardPage /> },
          { path: 'settings', element: <SettingsPage /> },
          { path: 'account', element: <AccountPage /> },
        ],
      },
      {
        path: 'projects/:projectId',
        element: <WorkspacePage />,
        children: [
          { index: true, element: <Navigate to="script" replace /> },
          { path: 'script', element: <ScriptStage /> },
          { path: 'assets', element: <AssetsStage /> },
          { path: 'director', element: <DirectorStage /> },
          { path: 'export', element: <ExportStage /> },
        ],
      },
    ],
  },
  { path: '*', element: <Navigate to="/" replace /> },
]);
