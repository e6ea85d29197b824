// Takes, cost and budgets as a creator meets them: every generation of a frame is kept and can be
// chosen again, pinned and compared; a frame whose prompt changed is marked stale; the account
// page shows what was spent and keeps a monthly budget.
import { expect, test } from '@playwright/test';
import { parsedFirstScene } from './helpers';

test('a keyframe keeps every take: choose an earlier one, pin it, compare two, see it go stale', async ({ page }) => {
  await parsedFirstScene(page, 'takes');
  await page.getByRole('link', { name: /导演工作台/ }).click();
  await page.getByTestId('shot-tile').first().click();
  const start = page.getByTestId('keyframe-start');
  await start.getByRole('button', { name: '生成', exact: true }).click();
  await expect(start.getByRole('img').first()).toBeVisible({ timeout: 60_000 });
  const takes = start.getByTestId('take');
  await expect(takes).toHaveCount(1);
  await expect(takes.first()).toHaveAttribute('data-chosen', 'true');
  await expect(takes.first().getByTestId('take-cost')).toHaveText('US$0.00');

  // A new prompt makes the picture stale; regenerating makes a second take, now in use.
  const saved = page.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().includes('/keyframes/'));
  await start.getByLabel('画面提示词').fill('雨夜渡口，少女收伞回望');
  await saved;
  await expect(start.getByTestId('stale')).toBeVisible({ timeout: 10_000 });
  await start.getByRole('button', { name: '重新生成' }).click();
  await expect(takes).toHaveCount(2, { timeout: 60_000 });
  await expect(start.getByTestId('stale')).toHaveCount(0);
  await expect(takes.first()).toHaveAttribute('data-chosen', 'true');

  // The earlier take, chosen again: it is in use, and stale (its prompt is not today's).
  await takes.nth(1).getByRole('button', { name: '选用' }).click();
  await expect(takes.nth(1)).toHaveAttribute('data-chosen', 'true');
  await expect(start.getByTestId('stale')).toBeVisible();
  await takes.nth(1).getByRole('button', { name: '固定' }).click();
  await expect(takes.nth(1)).toContainText('已固定');

  // Two takes side by side.
  await takes.nth(0).getByRole('checkbox', { name: '对比' }).check();
  await takes.nth(1).getByRole('checkbox', { name: '对比' }).check();
  const compare = page.getByRole('dialog', { name: '对比两个版本' });
  await expect(compare.getByRole('img')).toHaveCount(2);
  await compare.getByRole('button', { name: '关闭' }).click();

  // Everything survives a reload.
  await page.reload();
  await page.getByTestId('shot-tile').first().click();
  await expect(page.getByTestId('keyframe-start').getByTestId('take')).toHaveCount(2);
  await expect(page.getByTestId('keyframe-start').getByTestId('take').nth(1)).toHaveAttribute('data-chosen', 'true');
});

test('a batch says what it costs first; the account page shows spending and keeps a budget', async ({ page }) => {
  await parsedFirstScene(page, 'budget');
  await page.getByRole('link', { name: /角色与场景/ }).click();
  await page.getByRole('button', { name: '生成全部缺失图片' }).click();
  const asked = page.getByRole('dialog', { name: '开始之前' });
  await expect(asked.getByTestId('estimate')).toContainText(/调用模型 \d+ 次/);
  // Cancelling queues nothing.
  await asked.getByRole('button', { name: '取消' }).click();
  await expect(page.getByTestId('batch-images').getByRole('progressbar')).toHaveCount(0);
  await page.getByRole('button', { name: '生成全部缺失图片' }).click();
  await asked.getByRole('button', { name: '开始生成' }).click();
  await expect(page.getByTestId('batch-images').getByRole('button')).toHaveText('全部已生成', { timeout: 60_000 });

  await page.goto('/account');
  const chart = page.getByTestId('spend-chart');
  await expect(chart.getByTestId('spend-bar').first()).toBeVisible();
  await expect(chart.getByTestId('spend-total')).toContainText('US$0.00');
  const budget = page.getByTestId('account-budget');
  await budget.getByLabel('USD 上限').fill('5');
  await budget.getByRole('button', { name: '保存' }).click();
  await expect(budget).toContainText('预算已保存');
  await expect(budget.getByTestId('budget-use-USD')).toContainText('剩余 US$5.00');
  await page.reload();
  await expect(page.getByTestId('account-budget').getByLabel('USD 上限')).toHaveValue('5');
  // A bad amount is refused with a clear message and changes nothing.
  await page.getByTestId('account-budget').getByLabel('USD 上限').fill('five');
  await page.getByTestId('account-budget').getByRole('button', { name: '保存' }).click();
  await expect(page.getByTestId('account-budget').getByRole('alert')).toBeVisible();
  await page.reload();
  await expect(page.getByTestId('account-budget').getByLabel('USD 上限')).toHaveValue('5');
});
