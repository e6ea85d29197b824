import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '@/api/client';
import { SelectField } from '@/components/field';
import { ErrorNote, Spinner } from '@/components/feedback';
import { useI18n, type MessageKey } from '@/i18n';
import { jsonBody } from '@/lib/json-body';
import type { ProviderView } from '@/api/types';
import { ProviderCard, type ProviderChange } from './provider-card';

const settingsKey = ['settings', 'providers'] as const;
const CAPABILITIES = ['text', 'image', 'video', 'speech'] as const;
// A voice belongs to its provider: speech has no stand-in.
const FALLBACK_CAPABILITIES = ['text', 'image', 'video'] as const;
type Choices = Record<string, string | null>;

export function SettingsPage() {
  const { t } = useI18n();
  const client = useQueryClient();
  const settings = useQuery({ queryKey: settingsKey, queryFn: () => unwrap(api.GET('/api/v1/settings/providers')) });
  const put = useMutation({
    mutationFn: (body: { providers?: Record<string, ProviderChange>; defaults?: Choices; fallbacks?: Choices }) =>
      unwrap(api.PUT('/api/v1/settings/providers', { body: jsonBody(body) })),
    onSuccess: (data) => client.setQueryData(settingsKey, data),
  });

  if (settings.isPending) return <div className="p-8"><Spinner label={t('common.loading')} /></div>;
  if (!settings.data) return <div className="p-8"><ErrorNote error={settings.error} /></div>;
  const { providers, defaults, fallbacks } = settings.data;
  const current = defaults as Record<string, string>;
  const standIns = fallbacks as Record<string, string>;

  return (
    <div className="mx-auto flex max-w-5xl flex-col gap-5 px-6 py-8">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">{t('settings.title')}</h1>
        <p className="mt-1 text-sm text-stone-600">{t('settings.intro')}</p>
      </div>
      <section className="rounded-lg border border-stone-200 bg-white p-4">
        <h2 className="mb-3 font-semibold">{t('settings.defaults')}</h2>
        <ProviderChoices
          capabilities={CAPABILITIES}
          providers={providers}
          chosen={current}
          onChoose={(capability, name) => put.mutate({ defaults: { [capability]: name } })}
        />
        <ErrorNote error={put.variables?.defaults ? put.error : null} />
      </section>
      <section className="rounded-lg border border-stone-200 bg-white p-4" aria-labelledby="fallbacks-title">
        <h2 id="fallbacks-title" className="font-semibold">{t('settings.fallbacks')}</h2>
        <p className="mb-3 mt-1 text-sm text-stone-600">{t('settings.fallbacksHint')}</p>
        <ProviderChoices
          capabilities={FALLBACK_CAPABILITIES}
          providers={providers}
          chosen={standIns}
          none={t('settings.noFallback')}
          leaveOut={current}
          onChoose={(capability, name) => put.mutate({ fallbacks: { [capability]: name } })}
        />
        <ErrorNote error={put.variables?.fallbacks ? put.error : null} />
      </section>
      {providers.map((provider) => (
        <ProviderCard key={provider.name} provider={provider} onSave={(change) => put.mutateAsync({ providers: { [provider.name]: change } })} />
      ))}
    </div>
  );
}

interface ChoicesProps {
  capabilities: readonly string[];
  providers: ProviderView[];
  /** The provider chosen per capability. */
  chosen: Record<string, string>;
  /** The label of "none" (choosing it removes the choice), where a capability may have none. */
  none?: string;
  /** A provider per capability not to offer (the default, for its stand-in). */
  leaveOut?: Record<string, string>;
  onChoose: (capability: string, provider: string | null) => void;
}

/** One provider per capability, among those that offer it. */
function ProviderChoices({ capabilities, providers, chosen, none, leaveOut = {}, onChoose }: ChoicesProps) {
  const { t } = useI18n();
  return (
    <div className="grid grid-cols-1 gap-3 md:grid-cols-3">
      {capabilities.map((capability) => (
        <SelectField
          key={capability}
          label={t(`capability.${capability}` as MessageKey)}
          value={chosen[capability] ?? ''}
          onChange={(e) => onChoose(capability, e.target.value || null)}
        >
          {none !== undefined && <option value="">{none}</option>}
          {providers
            // A saved choice is always shown, even one now left out.
            .filter((p) => p.capabilities.includes(capability) && (p.name !== leaveOut[capability] || p.name === chosen[capability]))
            .map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}
              </option>
            ))}
        </SelectField>
      ))}
    </div>
  );
}
