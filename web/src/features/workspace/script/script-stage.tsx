import { useState } from 'react';
import { EmptyState } from '@/components/feedback';
import { useI18n, type MessageKey } from '@/i18n';
import { useProject } from '../project-context';
import { RawScriptPanel } from './raw-script-panel';
import { CharactersEditor } from './characters-editor';
import { ScenesEditor } from './scenes-editor';
import { ParagraphsEditor } from './paragraphs-editor';
import { ShotsEditor } from './shots-editor';

const TABS = ['characters', 'scenes', 'paragraphs', 'shots'] as const;
type Tab = (typeof TABS)[number];

export function ScriptStage() {
  const { t } = useI18n();
  const { project } = useProject();
  const [tab, setTab] = useState<Tab>('characters');
  const data = project.script_data;
  const counts: Record<Tab, number> = {
    characters: data?.characters.length ?? 0,
    scenes: data?.scenes.length ?? 0,
    paragraphs: data?.storyParagraphs.length ?? 0,
    shots: project.shots.length,
  };

  return (
    <div className="mx-auto flex max-w-6xl flex-col gap-5 p-6">
      <h2 className="text-xl font-semibold">01 · {t('stage.script')}</h2>
      <RawScriptPanel />
      {!data ? (
        <EmptyState>{t('script.notParsed')}</EmptyState>
      ) : (
        <section className="flex flex-col gap-3">
          {data.logline && <p className="text-sm text-stone-600 italic">{data.logline}</p>}
          <div role="tablist" className="flex gap-1 border-b border-stone-200">
            {TABS.map((name) => (
              <button
                key={name}
                role="tab"
                type="button"
                aria-selected={tab === name}
                onClick={() => setTab(name)}
                className={`-mb-px border-b-2 px-3 py-2 text-sm ${tab === name ? 'border-amber-500 font-semibold text-stone-900' : 'border-transparent text-stone-500 hover:text-stone-800'}`}
              >
                {t(`script.${name}` as MessageKey)} <span className="text-xs text-stone-500">{counts[name]}</span>
              </button>
            ))}
          </div>
          <div role="tabpanel">
            {tab === 'characters' && <CharactersEditor />}
            {tab === 'scenes' && <ScenesEditor />}
            {tab === 'paragraphs' && <ParagraphsEditor />}
            {tab === 'shots' && <ShotsEditor />}
          </div>
        </section>
      )}
    </div>
  );
}
