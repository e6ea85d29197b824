// A take made by the user's fallback says so: which provider it stood in for, and why.
import { render, screen } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Take } from '@/api/types';
import { I18nProvider } from '@/i18n';
import { envelope, project } from '@/test/fixtures';
import { ProjectContext, type ProjectContextValue } from '@/features/workspace/project-context';
import { TakesStrip } from './takes-strip';

afterEach(() => vi.unstubAllGlobals());

function take(overrides: Partial<Take>): Take {
  return {
    id: 't1',
    slot: 'clip/shot-1',
    file_id: 'f1',
    url: '/files/f1',
    content_type: 'video/mp4',
    file_size: 1000,
    chosen: true,
    pinned: false,
    stale: false,
    provider: 'doubao',
    model: 'doubao-seedance-1-0-pro-250528',
    created_at: '2026-12-07T10:00:00Z',
    provenance: { origin: 'generated', params: {} },
    ...overrides,
  };
}

function show(takes: Take[]) {
  vi.stubGlobal('fetch', vi.fn(async () => envelope({ takes })));
  const value = { project: project(), canEdit: true, reload: async () => undefined } as unknown as ProjectContextValue;
  render(
    <QueryClientProvider client={new QueryClient()}>
      <I18nProvider>
        <ProjectContext.Provider value={value}>
          <TakesStrip slot="clip/shot-1" taskSlot="clip:shot-1" video />
        </ProjectContext.Provider>
      </I18nProvider>
    </QueryClientProvider>,
  );
}

describe('the takes of a slot', () => {
  it('marks a take the fallback made with the provider it stood in for, and why', async () => {
    const fell_back = { from: 'kling', reason: 'unavailable' };
    show([take({ id: 'stand-in', provenance: { origin: 'generated', params: {}, fell_back } }), take({ id: 'own', chosen: false, provider: 'kling' })]);
    const mark = await screen.findByTestId('fell-back');
    expect(mark).toHaveTextContent('顶替 kling');
    expect(mark).toHaveAttribute('title', expect.stringContaining('无法连接'));
    expect(mark).toHaveAttribute('title', expect.stringContaining('doubao'));
    expect(screen.getAllByTestId('fell-back')).toHaveLength(1);
  });
});
