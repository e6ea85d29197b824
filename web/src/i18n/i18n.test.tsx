import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { ApiError } from '@/api/errors';
import { LanguageSwitch } from '@/components/language-switch';
import { I18nProvider, LANGUAGE_KEY, errorMessage, translate, useI18n } from '.';
import { en } from './en';
import { zh } from './zh';

function Title() {
  const { t } = useI18n();
  return <h1>{t('dashboard.title')}</h1>;
}

describe('languages', () => {
  it('starts in Chinese and remembers the switch', async () => {
    render(
      <I18nProvider>
        <Title />
        <LanguageSwitch />
      </I18nProvider>,
    );
    expect(screen.getByRole('heading')).toHaveTextContent('我的项目');
    await userEvent.click(screen.getByRole('button', { name: 'English' }));
    expect(screen.getByRole('heading')).toHaveTextContent('My projects');
    expect(localStorage.getItem(LANGUAGE_KEY)).toBe('en');
    // The product's name is not said twice in English.
    expect(document.title).toBe('CineGen · AI motion-comic studio');
  });

  it('has every key in both languages and fills placeholders', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(zh).sort());
    expect(translate('en', 'common.page', { page: 2, pages: 5 })).toBe('Page 2 of 5');
  });

  it('maps stable error codes, and names invalid fields', () => {
    const t = (key: keyof typeof zh, vars?: Record<string, string | number>) => translate('zh', key, vars);
    expect(errorMessage(t, new ApiError('QUOTA_EXCEEDED', 'quota', 413))).toBe('存储空间不足。');
    expect(errorMessage(t, new ApiError('SOMETHING_NEW', 'x', 400))).toBe('出错了，请稍后再试。');
    const invalid = new ApiError('VALIDATION_ERROR', 'bad', 422, { fields: [{ field: 'title', message: 'is required' }] });
    expect(errorMessage(t, invalid)).toContain('title: is required');
    expect(errorMessage(t, { code: 'PROVIDER_ERROR', message: 'timeout' })).toContain('模型服务出错了');
    const limited = new ApiError('RATE_LIMITED', 'at most 60', 429, { retry_after_secs: 1500, budget: 'image', limit: 60, remaining: 0 });
    expect(errorMessage(t, limited)).toBe('已达到每小时图片生成上限（60 次，剩余 0 次），25 分钟后可再试。');
    expect(errorMessage(t, new ApiError('RATE_LIMITED', 'slow down', 429, { retry_after_secs: 12 }))).toBe('操作太频繁，请 12 秒后再试。');
  });
});
