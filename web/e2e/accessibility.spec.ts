// Every page checked by axe-core (WCAG 2.1 A and AA rules): no serious or critical violations.
// Then the four stages walked with the keyboard alone.
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { newAccount, parsedFirstScene, register } from './helpers';

/** Every page's serious and critical violations, named by page, asserted empty at the end. */
const found: string[] = [];

async function expectAccessible(page: Page, name: string) {
  // Let the page settle (data loaded, no spinner) before it is judged.
  await expect(page.getByRole('status').filter({ hasText: /加载中|Loading/ })).toHaveCount(0);
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  for (const v of results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')) {
    const nodes = v.nodes.slice(0, 6).map((n) => `    ${n.target.join(' ')} ${n.failureSummary?.split('\n').slice(1, 2).join('') ?? ''}`);
    found.push(`${name}: ${v.id} (${v.impact}): ${v.help}\n${nodes.join('\n')}`);
  }
}

test('every page passes axe-core without serious or critical violations', async ({ page }) => {
  await page.goto('/login');
  await expectAccessible(page, 'login');
  await page.goto('/register');
  await expectAccessible(page, 'register');

  await parsedFirstScene(page, 'axe');
  await expectAccessible(page, 'script stage');
  // Panels and dialogs of the workspace, open.
  await page.getByRole('button', { name: /项目设置/ }).click();
  await expectAccessible(page, 'project settings dialog');
  await page.keyboard.press('Escape');
  await page.getByRole('button', { name: '历史版本' }).click();
  await expect(page.getByTestId('history-panel')).toBeVisible();
  await expectAccessible(page, 'history panel');
  await page.keyboard.press('Escape');
  await page.getByRole('button', { name: '任务' }).click();
  await expectAccessible(page, 'task tray');
  await page.getByRole('button', { name: '任务' }).click();
  for (const [link, name] of [
    [/角色与场景/, 'assets stage'],
    [/导演工作台/, 'director stage'],
    [/成片与导出/, 'export stage'],
  ] as const) {
    await page.getByRole('link', { name: link }).click();
    await expectAccessible(page, name);
  }
  await page.getByRole('link', { name: /返回项目列表/ }).click();
  await expect(page.getByTestId('project-card')).toHaveCount(1);
  await expectAccessible(page, 'dashboard');
  await page.getByRole('button', { name: '+ 新建项目' }).click();
  await expectAccessible(page, 'new project dialog');
  await page.keyboard.press('Escape');
  await page.getByRole('button', { name: '项目操作: 渡口记' }).click();
  await page.getByRole('menuitem', { name: '成员' }).click();
  await page.getByLabel('对方的邮箱').fill('someone-new@example.com');
  await page.getByRole('button', { name: '邀请' }).click();
  await expect(page.getByTestId('invitation')).toBeVisible();
  await expectAccessible(page, 'members dialog with an invitation');
  await page.keyboard.press('Escape');
  await page.getByRole('link', { name: '模型设置' }).click();
  await expectAccessible(page, 'settings');
  await page.getByRole('link', { name: '账户' }).click();
  await expect(page.getByTestId('storage-used')).toBeVisible();
  await expectAccessible(page, 'account');
  expect(found, found.join('\n')).toEqual([]);
});

test('the four stages can be walked with the keyboard alone', async ({ page }) => {
  await register(page, newAccount('keys-only'));
  await page.getByRole('button', { name: '+ 新建项目' }).focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByLabel('标题')).toBeFocused();
  await page.keyboard.type('键盘之戏');
  await dialog.getByRole('button', { name: '创建项目' }).focus();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/script$/);

  // From the script stage, Tab reaches each stage link in turn and Enter opens it.
  for (const [link, path] of [
    [/角色与场景/, /\/assets$/],
    [/导演工作台/, /\/director$/],
    [/成片与导出/, /\/export$/],
    [/剧本/, /\/script$/],
  ] as const) {
    const target = page.getByRole('link', { name: link });
    let reached = false;
    for (let i = 0; i < 40 && !reached; i += 1) {
      await page.keyboard.press('Tab');
      reached = await target.evaluate((el) => el === document.activeElement);
    }
    expect(reached, `Tab reaches the link to ${path}`).toBe(true);
    // The focused control shows where the focus is.
    const outline = await target.evaluate((el) => getComputedStyle(el).outlineStyle + getComputedStyle(el).boxShadow);
    expect(outline).not.toBe('nonenone');
    await page.keyboard.press('Enter');
    await expect(page).toHaveURL(path);
  }
  // The script can be typed into without a mouse.
  const script = page.getByLabel('剧本原文');
  let inScript = false;
  for (let i = 0; i < 60 && !inScript; i += 1) {
    await page.keyboard.press('Tab');
    inScript = await script.evaluate((el) => el === document.activeElement);
  }
  expect(inScript).toBe(true);
  await page.keyboard.type('第一场 夜 内');
  await expect(script).toHaveValue('第一场 夜 内');
});
