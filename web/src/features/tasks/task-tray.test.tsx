import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { I18nProvider } from '@/i18n';
import { envelope } from '@/test/fixtures';
import { task } from '@/test/fixtures';
import { taskStore } from './task-store';
import { TaskTray } from './task-tray';

beforeEach(() => taskStore.clear());
afterEach(() => vi.unstubAllGlobals());

describe('the task tray', () => {
  it("lists this project's tasks with progress, and cancels and retries them", async () => {
    const calls: string[] = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (request: Request) => {
        const path = new URL(request.url).pathname;
        calls.push(`${request.method} ${path}`);
        const id = path.split('/')[5];
        const status = path.endsWith('/cancel') ? 'cancelled' : 'pending';
        return envelope({ task: task({ id, status, updated_at: '2026-01-01T00:01:00.000Z' }) });
      }),
    );
    taskStore.apply({
      type: 'snapshot',
      tasks: [
        task({ id: 'running', type: 'video_generate', kind: 'ai.video', status: 'running', progress: 40 }),
        task({ id: 'broken', type: 'image_generate', kind: 'ai.image', status: 'failed', error: { code: 'PROVIDER_ERROR', message: 'upstream timeout' } }),
        task({ id: 'elsewhere', project_id: 'p2', status: 'running' }),
      ],
    });
    render(
      <I18nProvider>
        <TaskTray projectId="p1" feed="open" />
      </I18nProvider>,
    );
    await userEvent.click(screen.getByRole('button', { name: /任务/ }));
    const list = screen.getByTestId('task-list');
    expect(list.querySelectorAll('li')).toHaveLength(2);
    expect(screen.getByRole('progressbar', { name: '生成视频' })).toHaveAttribute('aria-valuenow', '40');
    // The failure in the creator's words, with what to do, and the vendor's words beneath.
    expect(screen.getByRole('alert')).toHaveTextContent('模型服务没能完成这一项：稍后再点一次生成');
    expect(screen.getByText('upstream timeout')).toBeInTheDocument();

    await userEvent.click(screen.getByRole('button', { name: '取消' }));
    await userEvent.click(screen.getByRole('button', { name: '重试' }));
    await waitFor(() => expect(calls).toEqual(['POST /api/v1/ai/tasks/running/cancel', 'POST /api/v1/ai/tasks/broken/retry']));
    await waitFor(() => expect(taskStore.get('running')?.status).toBe('cancelled'));
  });
});
