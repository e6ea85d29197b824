import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { newAccount, register } from './helpers';

// The snippet users paste into the old app's console.
const snippet = readFileSync(fileURLToPath(new URL('../../tools/export-legacy.js', import.meta.url)), 'utf8');

// A 1×1 PNG.
const PIXEL = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

test('the console snippet exports the old app’s IndexedDB, and the file imports here', async ({ page, context }) => {
  // The old app's origin, served from here: its pages and storage live only in this browser.
  const oldApp = await context.newPage();
  await oldApp.route('http://old-cinegen.test/**', (route) =>
    route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>CineGen (old)</title><body></body>' }),
  );
  await oldApp.goto('http://old-cinegen.test/');
  // A project as the old app kept it: a ProjectState with a character image as a Blob.
  await oldApp.evaluate(async (pixel) => {
    const bytes = Uint8Array.from(atob(pixel), (c) => c.charCodeAt(0));
    const state = {
      id: 'old-1',
      title: '雨夜旧案',
      createdAt: Date.now() - 86_400_000,
      lastModified: Date.now(),
      stage: 'assets',
      targetDuration: '60s',
      language: 'zh',
      visualStyle: 'anime',
      imageSize: '1440x2560',
      imageCount: 1,
      rawScript: '第一场 长街 夜 外\n沈青禾：今夜必须找到他。',
      scriptData: {
        title: '雨夜旧案',
        genre: '悬疑',
        logline: '',
        characters: [
          { id: 'c1', name: '沈青禾', gender: '女', age: '20', personality: '', variations: [],
            referenceImage: new Blob([bytes], { type: 'image/png' }) },
        ],
        scenes: [],
        storyParagraphs: [],
      },
      shots: [],
    };
    await new Promise<void>((resolve, reject) => {
      const open = indexedDB.open('cinegen-db', 1);
      open.onupgradeneeded = () => open.result.createObjectStore('projects', { keyPath: 'id' });
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {
        const tx = open.result.transaction('projects', 'readwrite');
        tx.objectStore('projects').put(state);
        tx.oncomplete = () => { open.result.close(); resolve(); };
        tx.onerror = () => reject(tx.error);
      };
    });
  }, PIXEL);
  const download = oldApp.waitForEvent('download');
  await oldApp.evaluate(snippet);
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/^cinegen-export-\d{4}-\d{2}-\d{2}\.json$/);
  const path = await file.path();
  const exported = JSON.parse(readFileSync(path, 'utf8'));
  expect(exported.projects).toHaveLength(1);
  expect(exported.projects[0].scriptData.characters[0].referenceImage).toMatch(/^data:image\/png;base64,/);

  // The new app takes the file as it came out of the browser.
  await register(page, newAccount('legacy'));
  await page.getByRole('button', { name: '导入旧版文件' }).click();
  const dialog = page.getByRole('dialog', { name: '导入旧版导出文件' });
  await dialog.locator('input[type=file]').setInputFiles(path);
  await dialog.getByRole('button', { name: '开始导入' }).click();
  const report = dialog.getByTestId('import-report');
  await expect(report).toContainText('已导入 1 个项目');
  await expect(report).toContainText('已存储 1 个素材');
  await dialog.getByRole('link', { name: '雨夜旧案' }).click();
  await expect(page.getByLabel('剧本原文')).toHaveValue(/长街/);
});
