// The whole workflow on the offline `local` provider: script → assets → keyframes → clips → film.
import { expect, test, type Locator } from '@playwright/test';
import { createProject, expectSaved, fixture, newAccount, register } from './helpers';

/** The first scene of the sample screenplay: four shots, two characters, one scene. */
const firstScene = () => {
  const text = fixture('neon-rain.fountain');
  return text.slice(0, text.indexOf('EXT. ROOFTOP'));
};

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
  await createProject(page, '霓虹雨');

  // 01 Script: paste, parse, trim the shot list to two shots.
  await page.getByLabel('剧本原文').fill(firstScene());
  await expectSaved(page);
  await page.getByRole('button', { name: '解析剧本' }).click();
  await expect(page.getByRole('tab', { name: /角色/ })).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('character-row')).toHaveCount(2);
  await page.getByRole('tab', { name: /分镜/ }).click();
  await expect(page.getByTestId('shot-row')).toHaveCount(4);
  await page.getByRole('button', { name: '删除: 分镜 4' }).click();
  await page.getByRole('button', { name: '删除: 分镜 3' }).click();
  await expect(page.getByTestId('shot-row')).toHaveCount(2);
  await expectSaved(page);

  // 02 Assets: every missing character and scene image in one batch.
  await page.getByRole('link', { name: /角色与场景/ }).click();
  await page.getByRole('button', { name: '生成全部缺失图片' }).click();
  for (const card of await page.getByTestId('character-card').all()) {
    await expect(card.getByRole('img')).toBeVisible({ timeout: 60_000 });
  }
  await expect(page.getByTestId('scene-card').getByRole('img')).toBeVisible({ timeout: 60_000 });

  // 03 Director: one frame by hand, the rest and every clip in batches.
  await page.getByRole('link', { name: /导演工作台/ }).click();
  await expect(page.getByTestId('shot-tile')).toHaveCount(2);
  const start = page.getByTestId('keyframe-start');
  await start.getByRole('button', { name: '生成' }).click();
  await expect(start.getByRole('img')).toBeVisible({ timeout: 60_000 });
  await page.getByRole('button', { name: '生成全部关键帧' }).click();
  await expect(page.getByTestId('completion')).toContainText('关键帧 3/3', { timeout: 90_000 });
  await page.getByRole('button', { name: '生成全部视频' }).click();
  await expect(page.getByTestId('completion')).toContainText('视频 2/2', { timeout: 180_000 });
  await videoPlays(page.getByTestId('clip-video'));

  // 04 Export: merge the finished shots and play the film.
  await page.getByRole('link', { name: /成片与导出/ }).click();
  await page.getByRole('button', { name: '全选已完成分镜' }).click();
  await expect(page.getByText('已选 2 个分镜')).toBeVisible();
  await page.getByRole('button', { name: '合成成片' }).click();
  await videoPlays(page.getByTestId('film-video'));
  await expect(page.getByRole('link', { name: /下载成片/ })).toBeVisible();

  await page.getByRole('button', { name: '打包下载全部素材' }).click();
  await expect(page.getByTestId('archive-link')).toBeVisible({ timeout: 60_000 });
});

test('a script written from an idea lands in the editor', async ({ page }) => {
  await register(page, newAccount('idea'));
  await createProject(page, '画中人');
  await page.getByRole('button', { name: '从创意生成剧本' }).click();
  await page.getByLabel('创意').fill(fixture('idea-zh.txt').trim());
  await page.getByLabel('类型').fill('奇幻');
  await page.getByRole('button', { name: '生成剧本', exact: true }).click();
  await expect(page.getByLabel('剧本原文')).not.toHaveValue('', { timeout: 30_000 });
  await page.getByRole('button', { name: '解析剧本' }).click();
  await expect(page.getByTestId('character-row').first()).toBeVisible({ timeout: 30_000 });
});
