import { afterEach, describe, expect, it, vi } from 'vitest';
import { TaskSocket, taskFeedUrl, type TaskMessage } from './task-socket';
import { task } from '@/test/fixtures';

class FakeSocket {
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  closed = false;
  constructor(readonly url: string) {}
  open() {
    this.onopen?.();
  }
  send(message: TaskMessage) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  drop() {
    this.onclose?.();
  }
  close() {
    this.closed = true;
    this.onclose?.();
  }
}

afterEach(() => vi.useRealTimers());

describe('the task feed socket', () => {
  it('builds the ws URL with the ticket and the project', () => {
    expect(taskFeedUrl('https://studio.example.com', 'a b', 'p1')).toBe(
      'wss://studio.example.com/api/v1/ws/tasks?ticket=a+b&projects=true&project_id=p1',
    );
    expect(taskFeedUrl('http://127.0.0.1:8000', 't')).toBe('ws://127.0.0.1:8000/api/v1/ws/tasks?ticket=t&projects=true');
    expect(taskFeedUrl('http://h', 't', undefined, '2026-01-01T00:00:00Z')).toBe('ws://h/api/v1/ws/tasks?ticket=t&projects=true&since=2026-01-01T00%3A00%3A00Z');
  });

  it('delivers messages and reconnects with a fresh ticket after a drop', async () => {
    vi.useFakeTimers();
    const sockets: FakeSocket[] = [];
    const tokens = ['first', 'second'];
    const messages: TaskMessage[] = [];
    const states: string[] = [];
    const feed = new TaskSocket({
      baseUrl: 'http://host',
      getTicket: async () => tokens.shift() ?? null,
      createSocket: (url) => {
        const socket = new FakeSocket(url);
        sockets.push(socket);
        return socket as unknown as WebSocket;
      },
      onMessage: (m) => messages.push(m),
      onState: (s) => states.push(s),
    });
    feed.start();
    await vi.waitFor(() => expect(sockets).toHaveLength(1));
    expect(sockets[0].url).toContain('ticket=first');
    sockets[0].open();
    sockets[0].send({ type: 'snapshot', tasks: [task()] });
    sockets[0].send({ type: 'task', task: task({ updated_at: '2026-01-02T08:00:00Z' }) });
    sockets[0].send({ type: 'task', task: task({ updated_at: '2026-01-02T07:00:00Z' }) });
    expect(messages).toHaveLength(3);
    expect(sockets[0].url).not.toContain('since=');

    sockets[0].drop();
    expect(states.at(-1)).toBe('closed');
    await vi.advanceTimersByTimeAsync(500);
    await vi.waitFor(() => expect(sockets).toHaveLength(2));
    expect(sockets[1].url).toContain('ticket=second');
    // The reconnect asks for what changed after the latest change it saw.
    expect(new URL(sockets[1].url).searchParams.get('since')).toBe('2026-01-02T08:00:00Z');
    sockets[1].open();
    expect(states.at(-1)).toBe('open');
    feed.stop();
    expect(sockets[1].closed).toBe(true);
  });

  it('backs off while it cannot connect, and stops for good when told', async () => {
    vi.useFakeTimers();
    let attempts = 0;
    const feed = new TaskSocket({
      getTicket: async () => {
        attempts += 1;
        return null;
      },
      onMessage: () => undefined,
    });
    feed.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(attempts).toBe(1);
    await vi.advanceTimersByTimeAsync(500);
    expect(attempts).toBe(2);
    await vi.advanceTimersByTimeAsync(999);
    expect(attempts).toBe(2); // the second pause is twice as long
    await vi.advanceTimersByTimeAsync(1);
    expect(attempts).toBe(3);
    feed.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(attempts).toBe(3);
  });
});
