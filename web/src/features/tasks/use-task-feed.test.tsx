// The feed as the app uses it: tasks reach the store, a finished task reloads its project, and
// a dropped socket comes back by itself.
import { renderHook, waitFor, act } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setAccessToken } from '@/api/token-store';
import { project, task } from '@/test/fixtures';
import { taskStore } from './task-store';
import { useTaskFeed } from './use-task-feed';

class FakeWebSocket {
  static opened: FakeWebSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeWebSocket.opened.push(this);
    queueMicrotask(() => this.onopen?.());
  }
  emit(message: unknown) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  close() {
    this.onclose?.();
  }
}

/** The server's ticket endpoint: a fresh single-use ticket for each bearer of the live token. */
let ticketsIssued = 0;
async function fakeFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const auth = new Headers(init?.headers).get('Authorization');
  if (String(input) !== '/api/v1/ws/ticket' || init?.method !== 'POST' || auth !== 'Bearer live-token') {
    return new Response('{}', { status: 401 });
  }
  ticketsIssued += 1;
  const body = { success: true, data: { ticket: `ticket-${ticketsIssued}`, expires_in: 30 } };
  return new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } });
}

beforeEach(() => {
  FakeWebSocket.opened = [];
  ticketsIssued = 0;
  vi.stubGlobal('WebSocket', FakeWebSocket);
  vi.stubGlobal('fetch', fakeFetch);
  setAccessToken('live-token', 900);
  taskStore.clear();
});
afterEach(() => {
  vi.unstubAllGlobals();
  setAccessToken(null);
});

describe('the live task feed', () => {
  it('fills the task store and reloads the project of a finished task', async () => {
    const client = new QueryClient();
    const invalidate = vi.spyOn(client, 'invalidateQueries');
    const wrapper = ({ children }: { children: ReactNode }) => <QueryClientProvider client={client}>{children}</QueryClientProvider>;
    const { result } = renderHook(() => useTaskFeed(true), { wrapper });
    await waitFor(() => expect(result.current).toBe('open'));
    const socket = FakeWebSocket.opened[0];
    // The feed opens with a ticket bought with the access token, never with the token itself.
    expect(socket.url).toContain('ticket=ticket-1');
    expect(socket.url).not.toContain('live-token');

    act(() => socket.emit({ type: 'task', task: task({ status: 'running', progress: 50, updated_at: '2026-01-01T00:00:01.000Z' }) }));
    expect(taskStore.get('t1')?.progress).toBe(50);
    act(() => socket.emit({ type: 'task', task: task({ status: 'completed', progress: 100, updated_at: '2026-01-01T00:00:02.000Z' }) }));
    await waitFor(() => expect(invalidate).toHaveBeenCalledWith({ queryKey: ['projects', 'detail', 'p1'] }));
  });

  it('reloads a project when a newer version than the one it holds is announced', async () => {
    const client = new QueryClient();
    client.setQueryData(['projects', 'detail', 'p1'], project({ id: 'p1', version: 3 }));
    const invalidate = vi.spyOn(client, 'invalidateQueries');
    const wrapper = ({ children }: { children: ReactNode }) => <QueryClientProvider client={client}>{children}</QueryClientProvider>;
    const { result } = renderHook(() => useTaskFeed(true), { wrapper });
    await waitFor(() => expect(result.current).toBe('open'));
    const socket = FakeWebSocket.opened[0];
    const announce = (version: number) =>
      socket.emit({ type: 'project', project: { id: 'p1', version, updated_at: '2026-01-01T00:00:05.000Z', updated_by: 'u2' } });
    // The version this tab saved itself is no news.
    act(() => announce(3));
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(invalidate).not.toHaveBeenCalled();
    act(() => announce(4));
    await waitFor(() => expect(invalidate).toHaveBeenCalledWith({ queryKey: ['projects', 'detail', 'p1'] }));
    expect(invalidate).toHaveBeenCalledWith({ queryKey: ['projects', 'list'] });
  });

  it('reconnects after the socket drops', async () => {
    const wrapper = ({ children }: { children: ReactNode }) => <QueryClientProvider client={new QueryClient()}>{children}</QueryClientProvider>;
    const { result, unmount } = renderHook(() => useTaskFeed(true), { wrapper });
    await waitFor(() => expect(result.current).toBe('open'));
    act(() => FakeWebSocket.opened[0].close());
    expect(result.current).toBe('closed');
    await waitFor(() => expect(FakeWebSocket.opened).toHaveLength(2), { timeout: 2000 });
    expect(FakeWebSocket.opened[1].url).toContain('ticket=ticket-2'); // a ticket works once
    await waitFor(() => expect(result.current).toBe('open'));
    unmount();
  });
});
