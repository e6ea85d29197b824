// The whole workflow on the offline `local` provider: script → assets → keyframes → clips → film.
import { expect, test, type Locator, type Page } from '@playwright/test';
import { readFile } from 'node:fs/promises';
import { createProject, expectSaved, fixture, newAccount, register } from './helpers';

/** Saves a full-page screenshot of the stage into the test's output folder. */
async function snap(page: Page, name: string) {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true });
}

async function videoPlays(video: Locator) {
  await expect(video).toBeVisible();
  await expect
    .poll(() => video.evaluate((v: HTMLVideoElement) => v.readyState >= 2 && v.duration > 0), { timeout: 30_000 })
    .toBe(true);
  await video.evaluate((v: HTMLVideoElement) => {
    v.muted = true;
    return v.play();
  });
  await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: 15_000 }).toBeGreaterThan(0.2);
}

test('from a pasted script to a film that plays', async ({ page }) => {
  await register(page, newAccount('pipeline'));
  await createProject(page, '渡口记');

  // 01 Script: paste the sample screenplay and parse it.
  await page.getByLabel('剧本原文').fill(fixture('dukou-zh.txt'));
  await expectSaved(page);
  await page.getByRole('button', { name: '解析剧本' }).click();
  await expect(page.getByRole('tab', { name: /角色/ })).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('character-row')).toHaveCount(2);
  await page.getByRole('tab', { name: /分镜/ }).click();
  await expect(page.getByTestId('shot-row')).toHaveCount(10);
  await snap(page, '01-script');

  // 02 Assets: every missing character and scene image in one batch.
  await page.getByRole('link', { name: /角色与场景/ }).click();
  await page.getByRole('button', { name: '生成全部缺失图片' }).click();
  // Before anything is spent, the batch says what it will cost: the offline provider, nothing.
  const asked = page.getByRole('dialog', { name: '开始之前' });
  await expect(asked.getByTestId('estimate')).toContainText('不产生费用');
  await asked.getByRole('button', { name: '开始生成' }).click();
  for (const card of await page.getByTestId('character-card').all()) {
    await expect(card.getByRole('img').first()).toBeVisible({ timeout: 60_000 });
  }
  for (const card of await page.getByTestId('scene-card').all()) {
    await expect(card.getByRole('img')).toBeVisible({ timeout: 60_000 });
  }
  // Nothing is missing now: the batch says so instead of offering a request the server refuses.
  await expect(page.getByTestId('batch-images').getByRole('button')).toHaveText('全部已生成', { timeout: 15_000 });
  await expect(page.getByTestId('batch-images').getByRole('button')).toBeDisabled();
  // A voice for the first character, heard before it is kept.
  const card = page.getByTestId('character-card').first();
  await card.getByTestId('character-voice').locator('summary').click();
  await card.getByLabel('音色', { exact: true }).selectOption('cmn+m3');
  const heard = page.waitForResponse((r) => r.url().endsWith('/api/v1/ai/speech/preview'));
  await card.getByTestId('voice-preview').click();
  const sample = await heard;
  expect(sample.status()).toBe(200);
  expect(sample.headers()['content-type']).toBe('audio/wav');
  await expectSaved(page);
  await snap(page, '02-assets');

  // 03 Director: one frame by hand, the rest and every clip in batches.
  await page.getByRole('link', { name: /导演工作台/ }).click();
  await expect(page.getByTestId('shot-tile')).toHaveCount(10);
  const start = page.getByTestId('keyframe-start');
  await start.getByRole('button', { name: '生成' }).click();
  await expect(start.getByRole('img')).toBeVisible({ timeout: 60_000 });
  await page.getByRole('button', { name: '生成全部关键帧' }).click();
  await page.getByRole('dialog', { name: '开始之前' }).getByRole('button', { name: '开始生成' }).click();
  await expect(page.getByTestId('completion')).toContainText(/关键帧 (\d+)\/\1/, { timeout: 120_000 });
  await page.getByRole('button', { name: '生成全部视频' }).click();
  await page.getByRole('dialog', { name: '开始之前' }).getByRole('button', { name: '开始生成' }).click();
  // A reload in the middle finds the batch and its progress again, and says how long is left.
  const clips = page.getByTestId('batch-clips');
  await expect(clips.getByRole('progressbar')).toBeVisible();
  await page.reload();
  await expect(clips.getByRole('progressbar')).toBeVisible({ timeout: 10_000 });
  await expect(clips.getByTestId('time-left')).toHaveText(/约剩 \d+ (秒|分钟)/, { timeout: 20_000 });
  await expect(page.getByTestId('completion')).toContainText('视频 10/10', { timeout: 240_000 });
  await videoPlays(page.getByTestId('clip-video'));
  await expect(page.getByTestId('batch-clips').getByRole('button')).toHaveText('全部已生成', { timeout: 15_000 });
  // Regenerate selected: two shots' clips again, though they are done.
  await page.getByRole('checkbox', { name: '选择分镜 1', exact: true }).check();
  await page.getByRole('checkbox', { name: '选择分镜 2', exact: true }).check();
  await expect(page.getByTestId('picked-bar')).toContainText('已选 2 个分镜');
  await page.getByRole('button', { name: '重新生成所选视频' }).click();
  await expect(page.getByTestId('picked-bar')).toHaveCount(0);
  await expect(page.getByRole('checkbox', { name: '选择分镜 1', exact: true })).not.toBeChecked();
  await expect(page.getByTestId('batch-clips').getByRole('button')).toHaveText('全部已生成', { timeout: 60_000 });
  await expect(page.getByTestId('completion')).toContainText('视频 10/10');
  // Every line of dialogue spoken, each in its speaker's voice.
  await page.getByRole('button', { name: '为全部对白配音' }).click();
  await page.getByRole('dialog', { name: '开始之前' }).getByRole('button', { name: '开始生成' }).click();
  await expect(page.getByTestId('batch-voices').getByRole('button')).toHaveText('全部已生成', { timeout: 120_000 });
  await snap(page, '03-director');

  // 04 Export: merge the finished shots and play the film.
  await page.getByRole('link', { name: /成片与导出/ }).click();
  await page.getByRole('button', { name: '全选已完成分镜' }).click();
  await expect(page.getByText('已选 10 个分镜')).toBeVisible();
  await page.getByRole('button', { name: '合成成片' }).click();
  // The merge re-encodes every frame to draw the AI-content label and lay the voices under the
  // clips: it takes a while on two cores.
  await expect(page.getByTestId('film-video')).toBeVisible({ timeout: 180_000 });
  await videoPlays(page.getByTestId('film-video'));
  await expect(page.getByRole('link', { name: /下载成片/ })).toBeVisible();
  // The page says which resolution the film is.
  await expect(page.getByTestId('film-size')).toContainText(/成片 \d+×\d+/);

  await page.getByRole('button', { name: '打包下载全部素材' }).click();
  await expect(page.getByTestId('archive-link')).toBeVisible({ timeout: 60_000 });
  const download = page.waitForEvent('download');
  await page.getByTestId('archive-link').click();
  const archive = await download;
  expect(archive.suggestedFilename()).toMatch(/\.zip$/);
  // Subtitles and a timeline for the editor, timed to the film just merged.
  const handoff = page.getByTestId('handoff-panel');
  const subtitles = page.waitForEvent('download');
  await handoff.getByRole('button', { name: /SRT/ }).click();
  const srt = await subtitles;
  expect(srt.suggestedFilename()).toMatch(/subtitles\.srt$/);
  const text = await readFile(await srt.path(), 'utf8');
  expect(text).toMatch(/^1\n00:00:\d\d,\d{3} --> 00:00:\d\d,\d{3}\n.+：/);
  const timeline = page.waitForEvent('download');
  await handoff.getByRole('button', { name: /Final Cut Pro/ }).click();
  expect((await timeline).suggestedFilename()).toMatch(/timeline\.fcpxml$/);
  await snap(page, '04-export');
});

test('a script written from an idea lands in the editor', async ({ page }) => {
  await register(page, newAccount('idea'));
  await createProject(page, '倒走的钟');
  await page.getByRole('button', { name: '从创意生成剧本' }).click();
  await page.getByLabel('创意').fill(fixture('idea-zh.txt').trim());
  await page.getByLabel('类型').fill('奇幻');
  await page.getByRole('button', { name: '生成剧本', exact: true }).click();
  await expect(page.getByLabel('剧本原文')).not.toHaveValue('', { timeout: 30_000 });
  await page.getByRole('button', { name: '解析剧本' }).click();
  await expect(page.getByTestId('character-row').first()).toBeVisible({ timeout: 30_000 });
});
