import { render, screen } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { describe, expect, it } from 'vitest';
import type { ProviderView } from '@/api/types';
import { I18nProvider } from '@/i18n';
import { ProviderCard, parseExtraKeys } from './provider-card';

function provider(overrides: Partial<ProviderView>): ProviderView {
  return {
    name: 'openai',
    capabilities: ['text', 'image'],
    needs_key: true,
    has_secret_key: false,
    api_key: 'sk-…abcd',
    secret_key: null,
    base_url: null,
    models: {},
    default_models: {},
    server_key: false,
    prices: [],
    status: 'unchecked',
    ready: false,
    check: null,
    keys: [],
    ...overrides,
  };
}

function show(view: ProviderView) {
  render(
    <QueryClientProvider client={new QueryClient()}>
      <I18nProvider>
        <ProviderCard provider={view} onSave={async () => undefined} />
      </I18nProvider>
    </QueryClientProvider>,
  );
}

describe('a provider card', () => {
  it('says a saved key is not available until a test passes', () => {
    show(provider({}));
    expect(screen.getByTestId('key-status')).toHaveTextContent('已保存，待测试');
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('says why the last test failed, and what to do, with the vendor’s words', () => {
    const check = { at: '2026-12-06T10:00:00Z', outcome: 'key_refused', message: 'Incorrect API key provided', models: [] };
    show(provider({ status: 'failing', check }));
    expect(screen.getByTestId('key-status')).toHaveTextContent('测试未通过');
    expect(screen.getByRole('alert')).toHaveTextContent('密钥被拒绝：请检查密钥是否正确');
    expect(screen.getByRole('alert')).toHaveTextContent('Incorrect API key provided');
  });

  it('shows a key that passed as working', () => {
    show(provider({ status: 'working', ready: true, check: { at: '2026-12-06T10:00:00Z', outcome: 'working', message: null, models: [] } }));
    expect(screen.getByTestId('key-status')).toHaveTextContent('可用');
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('offers the models the key listed, per capability', () => {
    const models = [
      { id: 'gpt-5-mini', capability: 'text' },
      { id: 'gpt-5', capability: 'text' },
      { id: 'gpt-image-2', capability: 'image' },
    ];
    show(provider({ status: 'working', ready: true, check: { at: '2026-12-06T10:00:00Z', outcome: 'working', message: null, models } }));
    const text = screen.getByTestId('listed-models-text');
    expect([...text.querySelectorAll('option')].map((o) => o.value)).toEqual(['gpt-5-mini', 'gpt-5']);
    expect(screen.getByTestId('listed-models-image').querySelectorAll('option')).toHaveLength(1);
    expect(screen.getByLabelText('默认模型 · 文本')).toHaveAttribute('list', text.id);
    expect(screen.getByText('此密钥可用 2 个模型：可选择，也可输入其他')).toBeInTheDocument();
  });
});

describe('several keys', () => {
  it('shows each saved key and why one is set aside', () => {
    const parked = { reason: 'key_refused', message: 'openai: the key was refused: Incorrect API key', at: '2026-12-07T07:00:00Z' };
    show(provider({ status: 'working', ready: true, keys: [{ hint: 'sk-…2222', parked }, { hint: 'sk-…1111', parked: null }] }));
    const keys = screen.getByTestId('saved-keys');
    expect(keys).toHaveTextContent('sk-…2222');
    expect(screen.getByTestId('parked-key')).toHaveTextContent('已暂停：服务商拒绝了此密钥');
    expect(screen.getByTestId('parked-key')).toHaveTextContent('Incorrect API key');
    expect(keys).toHaveTextContent('sk-…1111');
    expect(keys).toHaveTextContent('使用中');
  });

  it('reads further keys one a line, access and secret where the vendor takes both', () => {
    expect(parseExtraKeys(' sk-a \n\nsk-b\n', false)).toEqual([{ api_key: 'sk-a' }, { api_key: 'sk-b' }]);
    expect(parseExtraKeys('AK1:SK:1', true)).toEqual([{ api_key: 'AK1', secret_key: 'SK:1' }]);
  });
});
