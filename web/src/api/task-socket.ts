// The live task feed (`WS /api/v1/ws/tasks`). The server sends a snapshot of unfinished tasks
// first, then every change. The socket reconnects by itself with growing pauses, asking for a
// fresh access token each time: the token is only checked at the upgrade, and it may have expired.
import type { Task } from './types';
import { freshAccessToken } from './token-store';

export type TaskMessage = { type: 'snapshot'; tasks: Task[] } | { type: 'task'; task: Task };
export type SocketState = 'connecting' | 'open' | 'closed';

export interface TaskSocketOptions {
  projectId?: string;
  onMessage: (message: TaskMessage) => void;
  onState?: (state: SocketState) => void;
  /** For tests; defaults to the token store and the browser's WebSocket. */
  getToken?: () => Promise<string | null>;
  createSocket?: (url: string) => WebSocket;
  baseUrl?: string;
  maxDelayMs?: number;
}

export function taskFeedUrl(base: string, token: string, projectId?: string): string {
  const url = new URL('/api/v1/ws/tasks', base);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('token', token);
  if (projectId) url.searchParams.set('project_id', projectId);
  return url.toString();
}

export class TaskSocket {
  private socket: WebSocket | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private attempt = 0;
  private stopped = false;

  constructor(private readonly options: TaskSocketOptions) {}

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const socket = this.socket;
    this.socket = null;
    socket?.close();
    this.options.onState?.('closed');
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.options.onState?.('connecting');
    const token = await (this.options.getToken ?? freshAccessToken)();
    if (this.stopped) return;
    if (!token) {
      this.scheduleReconnect();
      return;
    }
    const base = this.options.baseUrl ?? window.location.origin;
    const url = taskFeedUrl(base, token, this.options.projectId);
    const socket = (this.options.createSocket ?? ((u) => new WebSocket(u)))(url);
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.options.onState?.('open');
    };
    socket.onmessage = (event) => {
      try {
        this.options.onMessage(JSON.parse(String(event.data)) as TaskMessage);
      } catch {
        // A message we cannot read is skipped; the next snapshot (on reconnect) repairs the view.
      }
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.options.onState?.('closed');
    const delay = Math.min(this.options.maxDelayMs ?? 15_000, 500 * 2 ** this.attempt);
    this.attempt += 1;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, delay);
  }
}
