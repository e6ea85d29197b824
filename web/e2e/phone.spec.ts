// A creator on a phone (390×844): the stage gets the width, the headings read as words, the
// batch buttons stay in view, and tapping a shot shows its detail.
import { expect, test } from '@playwright/test';
import { parsedFirstScene } from './helpers';

test.use({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });

test('the director stage works on a phone', async ({ page }) => {
  await parsedFirstScene(page, 'phone');
  // The sidebar starts folded: the stage links are icons, the stage has the width.
  await expect(page.getByRole('button', { name: '展开侧栏' })).toBeVisible();

  await page.getByRole('link', { name: /导演工作台/ }).click();
  // The heading is one line, not a column of single characters.
  const heading = page.getByRole('heading', { name: /导演工作台/ });
  const box = (await heading.boundingBox())!;
  expect(box.height).toBeLessThan(40);
  expect(box.width).toBeGreaterThan(120);
  // Both batch buttons are on screen, within its width.
  for (const kind of ['keyframes', 'clips']) {
    const button = page.getByTestId(`batch-${kind}`).getByRole('button');
    await expect(button).toBeInViewport();
    const { x, width } = (await button.boundingBox())!;
    expect(x + width).toBeLessThanOrEqual(390);
  }
  // Nothing runs off the side of the page.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

  // A tap on the second shot brings its detail into view.
  await page.getByTestId('shot-tile').nth(1).tap();
  await expect(page.getByTestId('shot-detail').getByRole('heading', { name: '分镜 2' })).toBeInViewport();
});
