import { expect, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const fixture = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../../fixtures/scripts/${name}`, import.meta.url)), 'utf8');

/** A fresh account per test, so tests never depend on each other. */
export function newAccount(tag: string) {
  const stamp = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  return { email: `${tag}-${stamp}@example.com`, password: 'correct horse battery', name: `${tag} ${stamp.slice(-4)}` };
}

export async function register(page: Page, account: ReturnType<typeof newAccount>) {
  await page.goto('/register');
  await page.getByLabel('昵称').fill(account.name);
  await page.getByLabel('邮箱').fill(account.email);
  await page.getByLabel('密码').fill(account.password);
  await page.getByRole('button', { name: '注册' }).click();
  await expect(page.getByRole('heading', { name: '我的项目' })).toBeVisible();
}

export async function createProject(page: Page, title: string) {
  await page.getByRole('button', { name: '+ 新建项目' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('标题').fill(title);
  await dialog.getByLabel('宫格数量').selectOption('2');
  await dialog.getByRole('button', { name: '创建项目' }).click();
  await expect(page).toHaveURL(/\/projects\/[^/]+\/script$/);
}

export async function expectSaved(page: Page) {
  await expect(page.getByTestId('save-status')).toHaveAttribute('data-status', 'saved', { timeout: 10_000 });
}

/** A new account with a project whose script is the first scene of the sample, parsed. */
export async function parsedFirstScene(page: Page, tag: string, title = '渡口记') {
  await register(page, newAccount(tag));
  await createProject(page, title);
  const text = fixture('dukou-zh.txt');
  const script = text.slice(0, text.indexOf('第二场'));
  await page.getByLabel('剧本原文').fill(script);
  await expectSaved(page);
  await page.getByRole('button', { name: '解析剧本' }).click();
  await expect(page.getByTestId('character-row').first()).toBeVisible({ timeout: 30_000 });
  return script;
}
