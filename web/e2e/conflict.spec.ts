// Two tabs edit the same project. With the live feed, a save in one shows in the other at once;
// a tab that did not hear of it (its feed down) meets a 409 at its next save and the user chooses.
import { expect, test, type BrowserContext } from '@playwright/test';
import { createProject, expectSaved, newAccount, register } from './helpers';

/** Every tab opened from now on in `context` has a live feed that never delivers anything. */
async function cutLiveFeeds(context: BrowserContext) {
  await context.routeWebSocket(/\/api\/v1\/ws\/tasks/, () => {});
}

test('a save in one tab shows in the other at once', async ({ page, context }) => {
  await register(page, newAccount('live'));
  await createProject(page, '实时同步');
  const other = await context.newPage();
  await other.goto(page.url());
  await expect(other.getByLabel('剧本原文')).toBeVisible();

  await page.getByLabel('剧本原文').fill('第一场 新写的一行');
  await expectSaved(page);
  await expect(other.getByLabel('剧本原文')).toHaveValue('第一场 新写的一行', { timeout: 5_000 });
  // The other tab goes on from the new version: its own edit saves without a clash.
  await other.getByLabel('剧本原文').fill('第一场 新写的一行，又改了');
  await expectSaved(other);
  await expect(other.getByRole('dialog', { name: '项目在别处被修改了' })).toHaveCount(0);
  await expect(page.getByLabel('剧本原文')).toHaveValue('第一场 新写的一行，又改了', { timeout: 5_000 });
});

test('a conflict between two tabs is shown, and either side can win', async ({ page, context }) => {
  await cutLiveFeeds(context);
  await register(page, newAccount('conflict'));
  await createProject(page, '冲突测试');
  const url = page.url();
  const other = await context.newPage();
  await other.goto(url);
  await expect(other.getByLabel('剧本原文')).toBeVisible();

  await page.getByLabel('剧本原文').fill('第一场 甲的版本');
  await expectSaved(page);

  // The other tab still holds the old version: its save is refused.
  await other.getByLabel('剧本原文').fill('第一场 乙的版本');
  const dialog = other.getByRole('dialog', { name: '项目在别处被修改了' });
  await expect(dialog).toBeVisible();
  // It names the content both changed and that the other change was the same person's.
  await expect(dialog.getByTestId('conflict-fields')).toHaveText('双方都改了：剧本原文');
  await expect(dialog.getByTestId('conflict-source')).toContainText('另一个标签页');

  // Keep mine: saved on top of the current version.
  await dialog.getByRole('button', { name: '保留我的修改' }).click();
  await expect(dialog).toBeHidden();
  await expectSaved(other);

  await page.reload();
  await expect(page.getByLabel('剧本原文')).toHaveValue('第一场 乙的版本');

  // And the other way: the first tab is now behind; reloading takes the other's text.
  await other.getByLabel('剧本原文').fill('第一场 乙的第二版');
  await expectSaved(other);
  await page.getByLabel('剧本原文').fill('第一场 甲的第二版');
  const second = page.getByRole('dialog', { name: '项目在别处被修改了' });
  await expect(second).toBeVisible();
  await second.getByRole('button', { name: '载入最新版本' }).click();
  await expect(page.getByLabel('剧本原文')).toHaveValue('第一场 乙的第二版');
});

test('changes of different things in two tabs are merged without asking', async ({ page, context }) => {
  await cutLiveFeeds(context);
  await register(page, newAccount('merge'));
  await createProject(page, '合并测试');
  const other = await context.newPage();
  await other.goto(page.url());
  await expect(other.getByLabel('剧本原文')).toBeVisible();

  await page.getByLabel('剧本原文').fill('第一场 只改剧本');
  await expectSaved(page);

  // The other tab, still on the old version, changes the visual style only.
  await other.getByRole('button', { name: /项目设置/ }).click();
  await other.getByRole('dialog', { name: '项目设置' }).getByLabel('画风').selectOption('cyberpunk');
  await expectSaved(other);
  await expect(other.getByRole('dialog', { name: '项目在别处被修改了' })).toHaveCount(0);

  await page.reload();
  await expect(page.getByLabel('剧本原文')).toHaveValue('第一场 只改剧本');
  await page.getByRole('button', { name: /项目设置/ }).click();
  await expect(page.getByRole('dialog', { name: '项目设置' }).getByLabel('画风')).toHaveValue('cyberpunk');
});
