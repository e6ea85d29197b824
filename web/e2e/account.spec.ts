import { expect, test } from '@playwright/test';
import { createProject, newAccount, register } from './helpers';

test('reload keeps the session and the page; sign-in returns to the page asked for', async ({ page }) => {
  const account = newAccount('session');
  await register(page, account);
  await createProject(page, '会话测试');
  const url = page.url();

  await page.reload();
  await expect(page).toHaveURL(url);
  await expect(page.getByRole('heading', { name: '01 · 剧本与故事' })).toBeVisible();

  // Signed out, a deep link leads to sign-in and back to it.
  await page.getByRole('link', { name: /返回项目列表/ }).click();
  await page.getByRole('button', { name: '退出登录' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto(url);
  await expect(page).toHaveURL(/\/login$/);
  await page.getByLabel('邮箱').fill(account.email);
  await page.getByLabel('密码').fill(account.password);
  await page.getByRole('button', { name: '登录' }).click();
  await expect(page).toHaveURL(url);
});

test('language switch is remembered; errors speak the chosen language', async ({ page }) => {
  await page.goto('/login');
  await page.getByRole('button', { name: 'English' }).click();
  await expect(page.getByRole('heading', { name: 'Welcome back' })).toBeVisible();
  await page.getByLabel('Email').fill('nobody@example.com');
  await page.getByLabel('Password').fill('wrong password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('Wrong email or password.');

  await page.reload();
  await expect(page.getByRole('heading', { name: 'Welcome back' })).toBeVisible();
  await page.getByRole('button', { name: '中文' }).click();
  await expect(page.getByRole('heading', { name: '欢迎回来' })).toBeVisible();
});

test('an expired access token is refreshed without the user noticing', async ({ page }) => {
  await register(page, newAccount('expiry'));
  await createProject(page, '过期测试');
  await page.getByRole('link', { name: /返回项目列表/ }).click();
  await expect(page.getByTestId('project-card')).toHaveCount(1);

  // The next project list answers as the server does for an expired token, once.
  let refused = false;
  await page.route('**/api/v1/projects?*', async (route) => {
    if (refused) return route.continue();
    refused = true;
    await route.fulfill({
      status: 401,
      contentType: 'application/json',
      body: JSON.stringify({ success: false, error: { code: 'TOKEN_EXPIRED', message: 'expired', details: {} }, timestamp: 0 }),
    });
  });
  const refreshed = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/refresh') && r.status() === 200);
  await page.getByRole('tab', { name: '已归档' }).click();
  await refreshed;
  await expect(page.getByText('没有归档的项目')).toBeVisible();
  await page.getByRole('tab', { name: '进行中' }).click();
  await expect(page.getByTestId('project-card')).toHaveCount(1);
  expect(refused).toBe(true);
});
