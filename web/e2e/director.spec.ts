// The director's per-shot editing: frames, prompts (autosaved), images, wardrobe, duration.
import { expect, test } from '@playwright/test';
import { expectSaved, newAccount, parsedFirstScene, register } from './helpers';

test('a shot is edited frame by frame and every change survives a reload', async ({ page }) => {
  await parsedFirstScene(page, 'director');

  // A wardrobe variation, made in the assets stage.
  await page.getByRole('link', { name: /角色与场景/ }).click();
  const firstCharacter = page.getByTestId('character-card').first();
  await firstCharacter.getByText(/服装造型/).click();
  await firstCharacter.getByRole('button', { name: '+ 添加造型' }).click();
  await firstCharacter.getByLabel('造型名称').fill('蓑衣');
  await expectSaved(page);

  // The second shot: a dialogue line, with a start frame only.
  await page.getByRole('link', { name: /导演工作台/ }).click();
  await page.getByTestId('shot-tile').nth(1).click();
  const shot = page.getByTestId('shot-detail');
  await expect(shot.getByRole('heading', { name: '分镜 2' })).toBeVisible();

  // Wardrobe pick, duration and prompt are saved without any save button.
  await shot.getByRole('combobox', { name: /造型/ }).first().selectOption({ label: '蓑衣' });
  const duration = shot.getByLabel('时长（秒）');
  await duration.fill('4');
  await duration.blur();
  const start = page.getByTestId('keyframe-start');
  const promptSaved = page.waitForResponse(
    // The parser names a shot's frames after it; the body is streamed, so the URL is what to match.
    (r) => r.request().method() === 'PATCH' && r.url().endsWith('/shots/shot-2/keyframes/shot-2-start'),
  );
  await start.getByLabel('画面提示词').fill('黄昏的渡口，少女提灯独行');

  // Frames: add an end frame, paint and delete an image, remove the frame again.
  await shot.getByRole('button', { name: '+ 添加尾帧' }).click();
  const end = page.getByTestId('keyframe-end');
  await expect(end).toBeVisible();
  await end.getByRole('button', { name: '生成', exact: true }).click();
  await expect(end.getByRole('img')).toBeVisible({ timeout: 60_000 });
  await end.getByRole('button', { name: '删除图片' }).click();
  // The picture's file goes for good, so it is asked about first.
  const ask = page.getByRole('dialog', { name: '删除尾帧的图片？' });
  await expect(ask).toContainText('无法撤销');
  await ask.getByRole('button', { name: '删除' }).click();
  await expect(end.getByRole('img')).toHaveCount(0);
  await end.getByRole('button', { name: '移除此帧' }).click();
  await expect(end).toHaveCount(0);

  await promptSaved; // the prompt's one-second autosave
  await page.reload();
  await page.getByTestId('shot-tile').nth(1).click();
  const again = page.getByTestId('shot-detail');
  await expect(again.getByRole('combobox', { name: /造型/ }).first()).toHaveValue(/.+/);
  await expect(again.getByLabel('时长（秒）')).toHaveValue('4');
  await expect(page.getByTestId('keyframe-start').getByLabel('画面提示词')).toHaveValue('黄昏的渡口，少女提灯独行');
  await expect(page.getByTestId('keyframe-end')).toHaveCount(0);
});

test('a 300-shot project: the director opens at once, renders only what is in view, and reaches the last shot', async ({ page }) => {
  const account = newAccount('long');
  await register(page, account);
  const login = await page.request.post('/api/v1/auth/login', { data: { email: account.email, password: account.password } });
  const token = ((await login.json()) as { data: { tokens: { access: string } } }).data.tokens.access;
  const shots = Array.from({ length: 300 }, (_, i) => ({
    id: `shot-${i}`,
    actionSummary: `第 ${i + 1} 镜`,
    keyframes: [{ id: `kf-${i}`, type: 'start' }],
    interval: { id: `clip-${i}`, duration: 4 },
  }));
  const created = await page.request.post('/api/v1/projects', {
    headers: { Authorization: `Bearer ${token}` },
    data: { title: '三百镜', shots, stage: 'director' },
  });
  expect(created.ok()).toBe(true);
  const id = ((await created.json()) as { data: { project: { id: string } } }).data.project.id;

  // Time to interactive: from navigation until a shot answers a click with its detail.
  const started = Date.now();
  await page.goto(`/projects/${id}/director`);
  await page.getByTestId('shot-tile').nth(1).click();
  await expect(page.getByTestId('shot-detail').getByRole('heading', { name: '分镜 2' })).toBeVisible();
  const interactive = Date.now() - started;
  test.info().annotations.push({ type: '300-shot director, time to interactive (ms)', description: String(interactive) });
  console.log(`300-shot director: interactive ${interactive} ms after navigation`);
  await expect(page.getByTestId('completion')).toContainText('视频 0/300');

  // Only the rows in view (and a few around them) are in the page.
  expect(await page.getByTestId('shot-tile').count()).toBeLessThan(40);
  // The last shot is reached by scrolling, and opens.
  await page.getByTestId('shot-grid').evaluate((el) => el.scrollTo(0, el.scrollHeight));
  const last = page.getByTestId('shot-tile').filter({ hasText: '分镜 300' });
  await expect(last).toBeVisible();
  await last.click();
  await expect(page.getByTestId('shot-detail').getByRole('heading', { name: '分镜 300' })).toBeVisible();
});
