// One provider: its key (shown as a hint once saved), secret key, base URL, models, and a key test.
import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '@/api/client';
import type { ProviderView } from '@/api/types';
import { Button } from '@/components/button';
import { TextField } from '@/components/field';
import { ErrorNote } from '@/components/feedback';
import { useI18n, type MessageKey } from '@/i18n';
import { vendorOf } from './vendors';

export interface ProviderChange {
  api_key?: string | null;
  secret_key?: string | null;
  base_url?: string | null;
  models?: Record<string, string> | null;
  prices?: ProviderView['prices'];
  extra_keys?: { api_key: string; secret_key?: string }[];
}

// Further keys as typed, one a line (`ACCESS:SECRET` where the vendor takes a secret key).
export function parseExtraKeys(text: string, withSecret: boolean): ProviderChange['extra_keys'] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      if (!withSecret) return { api_key: line };
      const [access, ...secret] = line.split(':');
      return { api_key: access.trim(), secret_key: secret.join(':').trim() };
    });
}

type OwnPrice = ProviderView['prices'][number];
const UNITS: OwnPrice['unit'][] = ['image', 'second', '1k_tokens', 'call'];

interface Props {
  provider: ProviderView;
  onSave: (change: ProviderChange) => Promise<unknown>;
}

const STATUS_STYLE: Record<string, string> = {
  working: 'bg-emerald-100 text-emerald-800',
  server_key: 'bg-emerald-100 text-emerald-800',
  no_key_needed: 'bg-emerald-100 text-emerald-800',
  unchecked: 'bg-amber-100 text-amber-900',
  failing: 'bg-red-100 text-red-800',
  no_key: 'bg-stone-100 text-stone-600',
};

export function ProviderCard({ provider, onSave }: Props) {
  const { t } = useI18n();
  const vendor = vendorOf(provider.name);
  const [apiKey, setApiKey] = useState('');
  const [secretKey, setSecretKey] = useState('');
  const [extraKeys, setExtraKeys] = useState('');
  const [baseUrl, setBaseUrl] = useState(provider.base_url ?? '');
  const models = provider.models as Record<string, string>;
  const defaults = provider.default_models as Record<string, string>;
  const [modelDraft, setModelDraft] = useState<Record<string, string>>(models ?? {});
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [prices, setPrices] = useState<OwnPrice[]>(provider.prices ?? []);
  const client = useQueryClient();
  const test = useMutation({
    mutationFn: () => unwrap(api.POST('/api/v1/settings/providers/{name}/test', { params: { path: { name: provider.name } } })),
    // Passed or not, the server kept how it went: show it on the card.
    onSettled: () => client.invalidateQueries({ queryKey: ['settings', 'providers'] }),
  });
  const check = provider.check;
  const failing = !!check && check.outcome !== 'working' && check.outcome !== 'unverified';
  // The models the vendor listed for the key at its last check, offered per capability.
  const listed = check?.models ?? [];

  const save = async () => {
    setError(null);
    setSaved(false);
    const change: ProviderChange = {};
    if (apiKey.trim()) change.api_key = apiKey.trim();
    if (provider.has_secret_key && secretKey.trim()) change.secret_key = secretKey.trim();
    if (extraKeys.trim()) change.extra_keys = parseExtraKeys(extraKeys, provider.has_secret_key);
    if (baseUrl.trim() !== (provider.base_url ?? '')) change.base_url = baseUrl.trim() || null;
    const cleaned = Object.fromEntries(Object.entries(modelDraft).filter(([, v]) => v.trim()));
    if (JSON.stringify(cleaned) !== JSON.stringify(models ?? {})) change.models = cleaned;
    if (JSON.stringify(prices) !== JSON.stringify(provider.prices ?? [])) change.prices = prices;
    try {
      await onSave(change);
      setApiKey('');
      setSecretKey('');
      setExtraKeys('');
      setSaved(true);
    } catch (cause) {
      setError(cause);
    }
  };

  const removeKey = async () => {
    setError(null);
    try {
      await onSave(provider.has_secret_key ? { api_key: null, secret_key: null } : { api_key: null });
    } catch (cause) {
      setError(cause);
    }
  };

  return (
    <article className="flex flex-col gap-3 rounded-lg border border-stone-200 bg-white p-4" data-testid={`provider-${provider.name}`}>
      <header className="flex items-center gap-2">
        <h3 className="mr-auto font-semibold">
          {vendor.label}
          {vendor.keys && provider.needs_key && (
            <a href={vendor.keys} target="_blank" rel="noreferrer" className="ml-2 text-xs font-normal text-amber-700 hover:underline">
              {t('settings.getKey')} ↗
            </a>
          )}
        </h3>
        <span className="text-xs text-stone-500">{provider.capabilities.map((c) => t(`capability.${c}` as MessageKey)).join(' · ')}</span>
        <span
          data-testid="key-status"
          className={`rounded px-1.5 py-0.5 text-[11px] ${STATUS_STYLE[provider.status] ?? STATUS_STYLE.no_key}`}
        >
          {t(`settings.status.${provider.status}` as MessageKey)}
        </span>
      </header>
      {provider.needs_key && (
        <div className="grid grid-cols-1 gap-2 md:grid-cols-2">
          <TextField
            label={t('settings.apiKey')}
            type="password"
            autoComplete="off"
            placeholder={provider.api_key ?? t('settings.keyPlaceholder')}
            hint={provider.api_key ? provider.api_key : provider.server_key ? t('settings.serverKey') : undefined}
            value={apiKey}
            onChange={(e) => setApiKey(e.target.value)}
          />
          {provider.has_secret_key && (
            <TextField
              label={t('settings.secretKey')}
              type="password"
              autoComplete="off"
              placeholder={provider.secret_key ?? t('settings.keyPlaceholder')}
              hint={provider.secret_key ?? undefined}
              value={secretKey}
              onChange={(e) => setSecretKey(e.target.value)}
            />
          )}
          <TextField label={t('settings.baseUrl')} placeholder="https://…" value={baseUrl} onChange={(e) => setBaseUrl(e.target.value)} />
          <label className="flex flex-col gap-1 text-xs text-stone-600 md:col-span-2">
            {t(provider.has_secret_key ? 'settings.extraKeysWithSecret' : 'settings.extraKeys')}
            <textarea
              className="rounded border border-stone-300 px-2 py-1 font-mono text-xs"
              rows={2}
              autoComplete="off"
              spellCheck={false}
              value={extraKeys}
              onChange={(e) => setExtraKeys(e.target.value)}
            />
          </label>
          {(provider.keys ?? []).length > 1 || (provider.keys ?? []).some((k) => k.parked) ? (
            // Each saved key as a hint; one its vendor refused is set aside, with the reason.
            <ul className="flex flex-col gap-0.5 text-xs md:col-span-2" data-testid="saved-keys">
              {(provider.keys ?? []).map((key, index) => (
                <li key={index} className="flex flex-wrap items-baseline gap-2">
                  <code>{key.hint}</code>
                  {key.parked ? (
                    <span className="rounded bg-red-50 px-1.5 text-red-800" data-testid="parked-key">
                      {t(`settings.parked.${key.parked.reason}` as MessageKey)}
                      {key.parked.message && <span className="ml-1 text-red-700/80">{key.parked.message}</span>}
                    </span>
                  ) : (
                    <span className="text-emerald-700">{t('settings.keyInUse')}</span>
                  )}
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      )}
      <div className="grid grid-cols-1 gap-2 md:grid-cols-3">
        {provider.capabilities.map((capability) => {
          const offered = listed.filter((m) => m.capability === capability);
          const listId = `models-${provider.name}-${capability}`;
          return (
            <div key={capability}>
              <TextField
                label={`${t('settings.models')} · ${t(`capability.${capability}` as MessageKey)}`}
                placeholder={defaults?.[capability] ?? ''}
                value={modelDraft[capability] ?? ''}
                list={offered.length ? listId : undefined}
                hint={offered.length ? t('settings.listedModels', { count: offered.length }) : undefined}
                onChange={(e) => setModelDraft((m) => ({ ...m, [capability]: e.target.value }))}
              />
              {offered.length > 0 && (
                <datalist id={listId} data-testid={`listed-models-${capability}`}>
                  {offered.map((m) => (
                    <option key={m.id} value={m.id} />
                  ))}
                </datalist>
              )}
            </div>
          );
        })}
      </div>
      {provider.needs_key && (
        <details className="text-sm" data-testid="own-prices">
          <summary className="cursor-pointer text-xs font-medium text-stone-600">
            {t('settings.prices')} ({prices.length})
          </summary>
          <p className="mt-1 text-xs text-stone-500">{t('settings.pricesHint')}</p>
          <ul className="mt-2 flex flex-col gap-1">
            {prices.map((price, i) => {
              const set = (patch: Partial<OwnPrice>) => setPrices(prices.map((p, j) => (j === i ? { ...p, ...patch } : p)));
              return (
                <li key={i} className="flex flex-wrap items-center gap-1 text-xs">
                  <input aria-label={t('settings.priceModel')} className="w-32 rounded border border-stone-300 px-1.5 py-1" value={price.model} onChange={(e) => set({ model: e.target.value })} />
                  <select aria-label={t('settings.priceUnit')} className="rounded border border-stone-300 px-1 py-1" value={price.unit} onChange={(e) => set({ unit: e.target.value as OwnPrice['unit'] })}>
                    {UNITS.map((unit) => (
                      <option key={unit} value={unit}>
                        {t(`settings.unit.${unit}` as MessageKey)}
                      </option>
                    ))}
                  </select>
                  <input aria-label={t('settings.priceAmount')} inputMode="decimal" className="w-20 rounded border border-stone-300 px-1.5 py-1" value={price.amount} onChange={(e) => set({ amount: e.target.value })} />
                  <select aria-label={t('settings.priceCurrency')} className="rounded border border-stone-300 px-1 py-1" value={price.currency} onChange={(e) => set({ currency: e.target.value as OwnPrice['currency'] })}>
                    <option value="USD">USD</option>
                    <option value="CNY">CNY</option>
                  </select>
                  <Button size="sm" variant="ghost" onClick={() => setPrices(prices.filter((_, j) => j !== i))}>
                    {t('common.delete')}
                  </Button>
                </li>
              );
            })}
          </ul>
          <Button size="sm" className="mt-1" onClick={() => setPrices([...prices, { model: '*', unit: 'image', amount: '', currency: 'USD' }])}>
            + {t('settings.addPrice')}
          </Button>
        </details>
      )}
      <div className="flex flex-wrap items-center gap-2">
        <Button variant="primary" size="sm" onClick={save}>
          {t('common.save')}
        </Button>
        <Button size="sm" disabled={test.isPending} onClick={() => test.mutate()}>
          {t('settings.test')}
        </Button>
        {provider.api_key && (
          <Button size="sm" variant="ghost" onClick={removeKey}>
            {t('settings.removeKey')}
          </Button>
        )}
        {saved && <span className="text-xs text-emerald-700">{t('settings.saved')}</span>}
        {test.data && (
          <span className="text-xs text-emerald-700" role="status">
            {test.data.outcome === 'working' ? t('settings.testOk', { ms: test.data.latency_ms }) : t('settings.checkedOnUse')}
          </span>
        )}
      </div>
      {failing && (
        // Why the last check failed, in the user's words, with the vendor's own beneath.
        <p role="alert" className="rounded bg-red-50 px-2 py-1 text-xs text-red-800" data-testid="key-check-failure">
          {t(`settings.outcome.${check.outcome}` as MessageKey)}
          {check.message && <span className="mt-0.5 block text-red-700/80">{check.message}</span>}
        </p>
      )}
      <ErrorNote error={error ?? (failing ? null : test.error)} />
    </article>
  );
}
