import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '@/api/client';
import { SelectField } from '@/components/field';
import { ErrorNote, Spinner } from '@/components/feedback';
import { useI18n, type MessageKey } from '@/i18n';
import { jsonBody } from '@/lib/json-body';
import { ProviderCard, type ProviderChange } from './provider-card';

const settingsKey = ['settings', 'providers'] as const;
const CAPABILITIES = ['text', 'image', 'video', 'speech'] as const;

export function SettingsPage() {
  const { t } = useI18n();
  const client = useQueryClient();
  const settings = useQuery({ queryKey: settingsKey, queryFn: () => unwrap(api.GET('/api/v1/settings/providers')) });
  const put = useMutation({
    mutationFn: (body: { providers?: Record<string, ProviderChange>; defaults?: Record<string, string | null> }) =>
      unwrap(api.PUT('/api/v1/settings/providers', { body: jsonBody(body) })),
    onSuccess: (data) => client.setQueryData(settingsKey, data),
  });

  if (settings.isPending) return <div className="p-8"><Spinner label={t('common.loading')} /></div>;
  if (!settings.data) return <div className="p-8"><ErrorNote error={settings.error} /></div>;
  const { providers, defaults } = settings.data;
  const current = defaults as Record<string, string>;

  return (
    <div className="mx-auto flex max-w-5xl flex-col gap-5 px-6 py-8">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">{t('settings.title')}</h1>
        <p className="mt-1 text-sm text-stone-600">{t('settings.intro')}</p>
      </div>
      <section className="rounded-lg border border-stone-200 bg-white p-4">
        <h2 className="mb-3 font-semibold">{t('settings.defaults')}</h2>
        <div className="grid grid-cols-1 gap-3 md:grid-cols-3">
          {CAPABILITIES.map((capability) => (
            <SelectField
              key={capability}
              label={t(`capability.${capability}` as MessageKey)}
              value={current[capability] ?? ''}
              onChange={(e) => put.mutate({ defaults: { [capability]: e.target.value || null } })}
            >
              {providers
                .filter((p) => p.capabilities.includes(capability))
                .map((p) => (
                  <option key={p.name} value={p.name}>
                    {p.name}
                  </option>
                ))}
            </SelectField>
          ))}
        </div>
        <ErrorNote error={put.error} />
      </section>
      {providers.map((provider) => (
        <ProviderCard key={provider.name} provider={provider} onSave={(change) => put.mutateAsync({ providers: { [provider.name]: change } })} />
      ))}
    </div>
  );
}
