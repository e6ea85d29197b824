import { useI18n } from '@/i18n';

/** Switches between Chinese and English; the choice is remembered. */
export function LanguageSwitch({ className = '' }: { className?: string }) {
  const { lang, setLang, t } = useI18n();
  return (
    <button
      type="button"
      title={t('lang.label')}
      onClick={() => setLang(lang === 'zh' ? 'en' : 'zh')}
      className={`rounded-md border border-stone-300 px-2 py-1 text-xs text-stone-600 hover:bg-stone-100 ${className}`}
    >
      {t('lang.switch')}
    </button>
  );
}
