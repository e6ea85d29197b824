import type { Project, Task } from '@/api/types';

export function envelope(data: unknown, status = 200): Response {
  return new Response(JSON.stringify({ success: true, data, message: 'ok', code: 0, timestamp: 0 }), {
    status,
    headers: { 'Content-Type': 'application/json' },
  });
}

export function errorEnvelope(status: number, code: string, details: Record<string, unknown> = {}): Response {
  return new Response(JSON.stringify({ success: false, error: { code, message: code.toLowerCase(), details }, timestamp: 0 }), {
    status,
    headers: { 'Content-Type': 'application/json' },
  });
}

export function project(overrides: Partial<Project> = {}): Project {
  return {
    id: 'p1',
    owner_id: 'u1',
    title: 'Neon Rain',
    stage: 'script',
    target_duration: '60s',
    language: 'zh',
    visual_style: 'cyberpunk',
    image_size: '1440x2560',
    image_count: 4,
    genre: '',
    keep_takes: 5,
    ai_label: true,
    settings: { stage: 'script', target_duration: '60s', language: 'zh', visual_style: 'cyberpunk', image_size: '1440x2560', image_count: 4, genre: '', keep_takes: 5, ai_label: true },
    raw_script: '',
    script_data: null,
    shots: [],
    status: 'active',
    role: 'owner',
    version: 1,
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    updated_by: 'u1',
    ...overrides,
  };
}

export function task(overrides: Partial<Task> = {}): Task {
  return {
    id: 't1',
    type: 'image_generate',
    kind: 'ai.image',
    status: 'pending',
    progress: 0,
    attempts: 0,
    cancel_requested: false,
    project_id: 'p1',
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}
