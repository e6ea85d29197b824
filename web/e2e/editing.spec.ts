// Nothing lost by a click: destructive actions ask first, naming what goes, and edits undo.
import { expect, test } from '@playwright/test';
import { expectSaved, parsedFirstScene } from './helpers';

test('a shot with pictures is deleted only after saying so, and undo brings it back', async ({ page }) => {
  const script = await parsedFirstScene(page, 'undo');

  // Parsing again would replace what is there: it asks, naming the counts, and cancel keeps all.
  await page.getByRole('button', { name: '解析剧本' }).click();
  const reparse = page.getByRole('dialog', { name: '重新解析剧本？' });
  await expect(reparse).toContainText(/\d+ 个角色、\d+ 个场景和 \d+ 个分镜/);
  await reparse.getByRole('button', { name: '取消' }).click();
  await expect(reparse).toHaveCount(0);

  // Writing a script from an idea would replace the text: it asks too.
  await page.getByRole('button', { name: '从创意生成剧本' }).click();
  await page.getByLabel('创意').fill('一座会倒着走的钟');
  await page.getByRole('button', { name: '生成剧本', exact: true }).click();
  const rewrite = page.getByRole('dialog', { name: '用新剧本替换现有剧本？' });
  await expect(rewrite).toContainText('字');
  await rewrite.getByRole('button', { name: '取消' }).click();
  await expect(page.getByLabel('剧本原文')).toHaveValue(script);

  // The first shot gets a start frame in the director.
  await page.getByRole('link', { name: /导演工作台/ }).click();
  await page.getByTestId('shot-tile').first().click();
  const start = page.getByTestId('keyframe-start');
  await start.getByRole('button', { name: '生成', exact: true }).click();
  await expect(start.getByRole('img')).toBeVisible({ timeout: 60_000 });

  // Back in the shot list, deleting that shot names the picture it takes with it.
  await page.getByRole('link', { name: /剧本与故事/ }).click();
  await page.getByRole('tab', { name: /分镜/ }).click();
  const rows = page.getByTestId('shot-row');
  const before = await rows.count();
  await page.getByRole('button', { name: '删除: 分镜 1' }).click();
  const ask = page.getByRole('dialog', { name: '删除“分镜 1”？' });
  await expect(ask).toContainText('首帧画面');
  await ask.getByRole('button', { name: '删除' }).click();
  await expect(rows).toHaveCount(before - 1);
  await expectSaved(page);

  // Undo (the button, then the keyboard for redo and undo again) restores it, saved.
  await page.getByRole('button', { name: '撤销' }).click();
  await expect(rows).toHaveCount(before);
  await page.keyboard.press('Control+Shift+Z');
  await expect(rows).toHaveCount(before - 1);
  await page.keyboard.press('Control+Z');
  await expect(rows).toHaveCount(before);
  await expectSaved(page);
  await page.reload();
  await page.getByRole('tab', { name: /分镜/ }).click();
  await expect(page.getByTestId('shot-row')).toHaveCount(before);

  // A shot with nothing generated goes at once; undo is the way back.
  await page.getByRole('button', { name: `删除: 分镜 ${before}` }).click();
  await expect(page.getByRole('dialog')).toHaveCount(0);
  await expect(page.getByTestId('shot-row')).toHaveCount(before - 1);
});

test('the history lists earlier versions with who changed what, and restores one', async ({ page }) => {
  await parsedFirstScene(page, 'history');
  await page.getByRole('tab', { name: /分镜/ }).click();
  const rows = page.getByTestId('shot-row');
  const parsed = await rows.count();
  await page.getByRole('button', { name: `删除: 分镜 ${parsed}` }).click();
  await expect(rows).toHaveCount(parsed - 1);
  await expectSaved(page);

  await page.getByRole('button', { name: '历史版本' }).click();
  const panel = page.getByTestId('history-panel');
  const revisions = panel.getByTestId('revision');
  // Newest first: the parsed documents (a generation's), replaced by the deletion of one shot.
  await expect(revisions).toHaveCount(2);
  await expect(revisions.first()).toContainText('AI 生成');
  await expect(revisions.first()).toContainText(`${parsed} 个分镜`);
  await expect(revisions.first().getByTestId('revision-change')).toContainText('分镜 -1');
  await revisions.first().getByRole('button', { name: '恢复此版本' }).click();
  await expect(panel.getByRole('status')).toContainText('已恢复版本');
  // What the restore replaced is kept in turn.
  await expect(revisions).toHaveCount(3);
  await panel.page().getByRole('dialog').getByRole('button', { name: '关闭' }).first().click();
  await expect(rows).toHaveCount(parsed);
  await page.reload();
  await page.getByRole('tab', { name: /分镜/ }).click();
  await expect(page.getByTestId('shot-row')).toHaveCount(parsed);
});
