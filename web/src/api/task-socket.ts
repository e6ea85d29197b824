// The live task feed (`WS /api/v1/ws/tasks`). The server sends a snapshot of unfinished tasks
// first, then every change, and (asked for with `projects=true`) each new version of the caller's
// projects. The socket opens with a single-use ticket (`POST /api/v1/ws/ticket`,
// valid 30 s) rather than the access token, so no token sits in a URL. It reconnects by itself
// with growing pauses, with a fresh ticket each time: the server closes the feed when the access
// token behind it expires or the session ends. A reconnect names the latest change it saw
// (`since`), so the snapshot also holds the tasks that finished while it was away.
import type { Task } from './types';
import { freshAccessToken } from './token-store';

/** A new version of a project the caller owns or is a member of (another tab's save, a member's, a generation's). */
export interface ProjectVersion {
  id: string;
  version: number;
  updated_at: string;
  updated_by: string | null;
}

export type TaskMessage =
  | { type: 'snapshot'; tasks: Task[] }
  | { type: 'task'; task: Task }
  | { type: 'project'; project: ProjectVersion };
export type SocketState = 'connecting' | 'open' | 'closed';

export interface TaskSocketOptions {
  projectId?: string;
  onMessage: (message: TaskMessage) => void;
  onState?: (state: SocketState) => void;
  /** For tests; defaults to a ticket bought with the token store's token, and the browser's WebSocket. */
  getTicket?: () => Promise<string | null>;
  createSocket?: (url: string) => WebSocket;
  baseUrl?: string;
  maxDelayMs?: number;
}

export function taskFeedUrl(base: string, ticket: string, projectId?: string, since?: string): string {
  const url = new URL('/api/v1/ws/tasks', base);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('ticket', ticket);
  // New versions of our projects too, so an open editor takes in other tabs' and members' saves.
  url.searchParams.set('projects', 'true');
  if (projectId) url.searchParams.set('project_id', projectId);
  if (since) url.searchParams.set('since', since);
  return url.toString();
}

/** The later of two RFC 3339 moments (either may be missing). */
function later(a: string | undefined, b: string): string {
  return a && Date.parse(a) >= Date.parse(b) ? a : b;
}

/** A single-use ticket for the feed, bought with a fresh access token; null when signed out. */
export async function feedTicket(): Promise<string | null> {
  const token = await freshAccessToken();
  if (!token) return null;
  try {
    const response = await fetch('/api/v1/ws/ticket', {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: '{}',
    });
    if (!response.ok) return null;
    const body = (await response.json()) as { data: { ticket: string } };
    return body.data.ticket;
  } catch {
    return null;
  }
}

export class TaskSocket {
  private socket: WebSocket | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private attempt = 0;
  private stopped = false;
  /** The `updated_at` of the latest change received. */
  private lastChange: string | undefined;

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
    const ticket = await (this.options.getTicket ?? feedTicket)();
    if (this.stopped) return;
    if (!ticket) {
      this.scheduleReconnect();
      return;
    }
    const base = this.options.baseUrl ?? window.location.origin;
    const url = taskFeedUrl(base, ticket, this.options.projectId, this.lastChange);
    const socket = (this.options.createSocket ?? ((u) => new WebSocket(u)))(url);
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.options.onState?.('open');
    };
    socket.onmessage = (event) => {
      try {
        const message = JSON.parse(String(event.data)) as TaskMessage;
        const tasks = message.type === 'snapshot' ? message.tasks : message.type === 'task' ? [message.task] : [];
        for (const task of tasks) this.lastChange = later(this.lastChange, task.updated_at);
        this.options.onMessage(message);
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
