// The interface language: Chinese first, English too, remembered in localStorage.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { zh, type MessageKey } from './zh';
import { en } from './en';
import { ApiError } from '@/api/errors';

export type Language = 'zh' | 'en';
export const LANGUAGE_KEY = 'cinegen.lang';
const dictionaries: Record<Language, Record<MessageKey, string>> = { zh, en };

export type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

interface I18n {
  lang: Language;
  setLang: (lang: Language) => void;
  t: Translate;
}

const I18nContext = createContext<I18n | null>(null);

export function storedLanguage(): Language {
  try {
    return localStorage.getItem(LANGUAGE_KEY) === 'en' ? 'en' : 'zh';
  } catch {
    return 'zh';
  }
}

export function translate(lang: Language, key: MessageKey, vars?: Record<string, string | number>): string {
  const template = dictionaries[lang][key] ?? key;
  if (!vars) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
}

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Language>(storedLanguage);
  const setLang = useCallback((next: Language) => {
    localStorage.setItem(LANGUAGE_KEY, next);
    document.documentElement.lang = next === 'zh' ? 'zh-CN' : 'en';
    setLangState(next);
  }, []);
  // The tab's title follows the language too.
  useEffect(() => {
    document.title = `CineGen · ${translate(lang, 'app.name')}`;
  }, [lang]);
  const value = useMemo<I18n>(
    () => ({ lang, setLang, t: (key, vars) => translate(lang, key, vars) }),
    [lang, setLang],
  );
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const value = useContext(I18nContext);
  if (!value) throw new Error('useI18n outside I18nProvider');
  return value;
}

/** An error in the user's language: the envelope's stable code, else a generic message. */
export function errorMessage(t: Translate, error: unknown): string {
  if (error instanceof ApiError) {
    const limited = rateLimitDetails(t, error);
    if (limited) return limited;
    const field = fieldDetails(error);
    const known = codeMessage(t, error.code);
    return field ? `${known} (${field})` : known;
  }
  // A failed task carries `{code, message}` like the envelope's error.
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    const message = (error as { message?: unknown }).message;
    return typeof message === 'string' && message ? `${codeMessage(t, code)} (${message})` : codeMessage(t, code);
  }
  return t('errors.UNKNOWN_ERROR');
}

/** A failed task's code in the creator's words with what to do, else what the code means. */
export function failureMessage(t: Translate, code: string): string {
  const key = `failure.${code}` as MessageKey;
  return key in zh ? t(key) : codeMessage(t, code);
}

function codeMessage(t: Translate, code: string): string {
  const key = `errors.${code}` as MessageKey;
  return key in zh ? t(key) : t('errors.UNKNOWN_ERROR');
}

/** A wait in whole minutes past a minute, else seconds. */
export function formatWait(t: Translate, seconds: number): string {
  return seconds >= 90 ? t('wait.minutes', { n: Math.ceil(seconds / 60) }) : t('wait.seconds', { n: Math.max(1, Math.round(seconds)) });
}

/** Over an hourly budget: how many remain of which budget, and when to try again. */
function rateLimitDetails(t: Translate, error: ApiError): string | null {
  if (error.code !== 'RATE_LIMITED') return null;
  const { retry_after_secs: wait, budget, limit, remaining } = error.details as {
    retry_after_secs?: number;
    budget?: string;
    limit?: number;
    remaining?: number;
  };
  if (typeof wait !== 'number') return null;
  const when = formatWait(t, wait);
  if (typeof limit !== 'number' || typeof remaining !== 'number' || typeof budget !== 'string') return t('errors.rateLimitedWait', { when });
  const known = `budget.${budget}` as MessageKey;
  const name = known in zh ? t(known) : budget;
  return t('errors.rateLimitedBudget', { name, limit, remaining, when });
}

/** Validation errors name their fields in `details`; show them, they are what the user fixes. */
function fieldDetails(error: ApiError): string | null {
  if (error.code !== 'VALIDATION_ERROR') return null;
  const fields = (error.details as { fields?: { field: string; message: string }[] }).fields;
  if (!Array.isArray(fields) || fields.length === 0) return error.message || null;
  return fields.map((f) => `${f.field}: ${f.message}`).join('; ');
}

export type { MessageKey };
