import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { GROUP, NO_DATASETS, POSTS, ROOT } from '../helpers/datasets.ts';
import { ARTEFACTS, NO_CHROMIUM, launchChromium } from '../helpers/browser.ts';

/** Known: three people. Photos: Obama (not known) in four, one of them with Biden (known), two of Kit Harington, a stranger. */
const KNOWN = ['biden', 'kit_harington', 'rose_leslie'];
const PHOTOS = ['obama1.jpg', 'obama3.jpg', 'obama-480p.jpg', 'obama_and_biden.jpg', 'kit_with_rose.jpg', 'johnsnow_test1.jpg', 'unknown_happy.jpg'];
const OBAMA = ['obama-480p.jpg', 'obama1.jpg', 'obama3.jpg', 'obama_and_biden.jpg'];

/** The part of an <img> the page functions use (the tests compile without the DOM's types). */
interface LoadedImage {
  decode(): Promise<void>;
  readonly naturalWidth: number;
}

/** Runs the real `facefile ui` in `cwd` and resolves with the address it prints. */
function startUi(cwd: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'facefile.js'), 'ui', '--no-open'], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: cwd, WORKERS: '2' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const url = /http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+/.exec(out)?.[0];
      if (url) resolve({ child, url });
    });
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('exit', (code) => {
      reject(new Error(`facefile ui exited with ${code}: ${err}`));
    });
  });
}

/** The file names in one folder's grid on the page. */
async function grid(page: Page, folder: string): Promise<string[]> {
  const images = await page.locator(`section[data-folder="${folder}"] .grid img`).all();
  return (await Promise.all(images.map((image) => image.getAttribute('alt')))).map(String).sort();
}

async function chooseFolder(page: Page, button: string, root: string, folder: string, screenshot?: string): Promise<void> {
  // Opened from the keyboard: the buttons are real buttons.
  await page.getByRole('button', { name: button }).focus();
  await page.keyboard.press('Enter');
  const dialog = page.locator('dialog#browser');
  await dialog.waitFor({ state: 'visible' });
  // It opens at the folder chosen now (facefile ui starts with ./photos, ./known, ./archive): go to the top.
  await dialog.getByRole('button', { name: root, exact: true }).click();
  await dialog
    .locator('#browser-path')
    .filter({ hasText: new RegExp(`^${root}$`) })
    .waitFor();
  await dialog.getByRole('button', { name: `📁 ${folder}`, exact: true }).click();
  await page
    .locator('#browser-path')
    .filter({ hasText: new RegExp(`/${folder}$`) })
    .waitFor();
  if (screenshot) await page.screenshot({ path: screenshot });
  await dialog.getByRole('button', { name: 'Use this folder' }).click();
  await dialog.waitFor({ state: 'hidden' });
}

describe('facefile ui in a real browser', { skip: NO_CHROMIUM || NO_DATASETS }, () => {
  let work: string;
  let ui: { child: ChildProcess; url: string } | undefined;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  let context: BrowserContext;
  let page: Page;
  const shot = async (name: string): Promise<void> => {
    // Lazy thumbnails below the fold would show as grey boxes: load them all first.
    await page.locator('img').evaluateAll((images: { loading: string; decode(): Promise<void> }[]) =>
      Promise.all(
        images.map((image) => {
          image.loading = 'eager';
          return image.decode().catch(() => undefined);
        }),
      ),
    );
    await page.screenshot({ path: path.join(ARTEFACTS, `ui-${name}.png`), fullPage: true });
  };

  before(async () => {
    work = await realpath(await mkdtemp(path.join(os.tmpdir(), 'facefile-ui-browser-')));
    for (const person of KNOWN) {
      await mkdir(path.join(work, 'known', person), { recursive: true });
      for (const file of await readdir(path.join(GROUP, person))) await copyFile(path.join(GROUP, person, file), path.join(work, 'known', person, file));
    }
    await mkdir(path.join(work, 'photos'));
    await mkdir(path.join(work, 'archive'));
    for (const file of PHOTOS) await copyFile(path.join(POSTS, file), path.join(work, 'photos', file));
    // A photo of two other people, alike in size, among Kit Harington's: neither face agrees with his
    // other photos and neither is clearly the one meant, so the archive does not guess, and says so.
    await copyFile(path.join(POSTS, 'obama_and_biden.jpg'), path.join(work, 'known', 'kit_harington', 'two others.jpg'));
    ui = await startUi(work);
    browser = await launchChromium();
    context = browser.context;
    page = await context.newPage();
  });
  // Each step guarded: a `before` that failed half-way still ends the server it started.
  after(async () => {
    await browser?.close();
    const child = ui?.child;
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(work, { recursive: true, force: true });
  });

  it('GIVEN the folders chosen with the folder browser WHEN the archive runs from the page THEN each person has a grid of their photos', async () => {
    await page.goto(ui!.url);
    // The page keeps the token in its cookie and takes it out of the address bar (and history).
    await page.waitForURL((url) => url.search === '');
    await chooseFolder(page, 'Choose the photos folder', work, 'photos', path.join(ARTEFACTS, 'ui-0-folder-browser.png'));
    await chooseFolder(page, 'Choose the known faces folder', work, 'known');
    await chooseFolder(page, 'Choose where to save the sorted copies', work, 'archive');
    await page.getByLabel(/one zip per person/).check();
    assert.equal(await page.locator('#photos-path').inputValue(), path.join(work, 'photos'));

    await page.getByRole('button', { name: 'Sort the photos' }).click();
    await page.locator('#progress').waitFor({ state: 'visible' });
    await page.locator('#results').waitFor({ state: 'visible', timeout: 300_000 });
    await page.locator('section[data-folder="_unknown"] .grid img').first().waitFor();
    await shot('1-results');

    assert.deepEqual(await grid(page, 'biden'), ['obama_and_biden.jpg']);
    assert.deepEqual(await grid(page, 'kit_harington'), ['johnsnow_test1.jpg', 'kit_with_rose.jpg']);
    assert.deepEqual(await grid(page, 'rose_leslie'), ['kit_with_rose.jpg']);
    assert.deepEqual(await grid(page, '_unknown'), ['obama-480p.jpg', 'obama1.jpg', 'obama3.jpg', 'unknown_happy.jpg']);
    const doubt = page.locator('#problems li').filter({ hasText: 'kit_harington/two others.jpg' });
    assert.match((await doubt.textContent()) ?? '', /faces/);
    assert.ok((await doubt.locator('img').evaluate((img: LoadedImage) => img.decode().then(() => img.naturalWidth))) > 200, 'its contact sheet is shown');
    const thumbnail = page.locator('section[data-folder="biden"] .grid img').first();
    const width = await thumbnail.evaluate(async (img: LoadedImage) => {
      await img.decode();
      return img.naturalWidth;
    });
    assert.ok(width > 0 && width <= 200, `the thumbnail is ${width} px wide`);
    const zip = page.getByRole('link', { name: /Download kit_harington\.zip/ });
    const download = await context.request.get(new URL((await zip.getAttribute('href'))!, page.url()).href);
    assert.equal(download.status(), 200);
    assert.equal(download.headers()['content-type'], 'application/zip');
  });

  it('WHEN the unknown person who keeps turning up is named THEN their photos move into their own grid', async () => {
    const cluster = page.locator('li.cluster').filter({ hasText: 'in 4 photos' });
    // A name already known is not merged into without asking, and the question shows by the form.
    await cluster.getByLabel('Who is this?').fill('Biden');
    await cluster.getByLabel('Who is this?').press('Enter');
    await cluster.getByRole('button', { name: 'Yes, add them to biden' }).waitFor();
    assert.match((await cluster.locator('.form-status').textContent()) ?? '', /biden is known already/);
    await cluster.getByLabel('Who is this?').fill('Barack Obama');
    await cluster.getByLabel('Who is this?').press('Enter');
    await page.locator('section[data-folder="Barack Obama"] .grid img').first().waitFor({ timeout: 300_000 });
    await page.locator('section[data-folder="Barack Obama"] .grid img').nth(3).waitFor();
    await shot('2-named');
    assert.deepEqual(await grid(page, 'Barack Obama'), OBAMA);
    assert.deepEqual(await grid(page, '_unknown'), ['unknown_happy.jpg']);
    assert.deepEqual(await grid(page, 'biden'), ['obama_and_biden.jpg']);
    assert.ok((await readdir(path.join(work, 'known', 'Barack Obama'))).length >= 1);
  });

  it('WHEN a photo is opened THEN its faces are boxed and named; "Not …?" takes it out of that folder, and naming the face puts it back', async () => {
    const photo = 'johnsnow_test1.jpg';
    assert.ok((await grid(page, 'kit_harington')).includes(photo), 'filed under kit_harington to begin with');
    await page.locator(`section[data-folder="kit_harington"] .grid a[title="${photo}"]`).click();
    const viewer = page.locator('dialog#viewer');
    await viewer.waitFor({ state: 'visible' });
    await viewer
      .locator('.face:not(.unknown) span')
      .filter({ hasText: /^kit_harington 0\.\d\d$/ })
      .waitFor();
    await page.screenshot({ path: path.join(ARTEFACTS, 'ui-5-viewer.png') });

    await viewer.getByRole('button', { name: 'Not kit_harington?' }).click();
    await viewer.locator('#viewer-note').filter({ hasText: 'Sorting again' }).waitFor();
    // The grids are read again when the run ends: the photo is gone from his.
    await page.waitForFunction(
      (name: string) =>
        !(globalThis as unknown as { document: { querySelector(s: string): unknown } }).document.querySelector(
          `section[data-folder="kit_harington"] .grid a[title="${name}"]`,
        ),
      photo,
      { timeout: 300_000 },
    );
    await page.locator('#status-text').filter({ hasText: 'Done.' }).waitFor();
    const corrections = JSON.parse(await readFile(path.join(work, 'known', '.facefile-corrections.json'), 'utf8')) as { notThis: { person: string }[] };
    assert.deepEqual(
      corrections.notThis.map((c) => c.person),
      ['kit_harington'],
    );
    // The viewer, still open, shows the face unnamed now: naming it kit_harington asks first, then puts it back.
    const name = viewer.getByLabel('Who is this?');
    await name.fill('kit_harington');
    await name.press('Enter');
    await viewer.getByRole('button', { name: 'Yes, add to kit_harington' }).click();
    await page.locator(`section[data-folder="kit_harington"] .grid a[title="${photo}"]`).waitFor({ timeout: 300_000 });
    await page.locator('#status-text').filter({ hasText: 'Done.' }).waitFor();
    await viewer.getByRole('button', { name: 'Close' }).click();
    assert.deepEqual(JSON.parse(await readFile(path.join(work, 'known', '.facefile-corrections.json'), 'utf8')), { version: 1, notThis: [] });
  });

  it('WHEN the threshold slider moves THEN the preview says how many photos would move, without a new run', async () => {
    const preview = page.locator('#preview');
    await preview.filter({ hasText: 'no photo would move' }).waitFor();
    const slider = page.getByLabel(/Threshold/);
    await slider.fill('0.99');
    await page.locator('#preview[data-moved]:not([data-moved="0"])').waitFor();
    const strict = await preview.textContent();
    assert.match(strict ?? '', /At 0\.990, \d+ photos? would move/);
    await page.locator('#plot').evaluate((img: LoadedImage) => img.decode());
    await shot('3-threshold');
    // The keyboard moves the slider too.
    await slider.focus();
    for (let i = 0; i < 10; i++) await page.keyboard.press('ArrowLeft');
    await page
      .locator('#preview')
      .filter({ hasNotText: strict ?? '' })
      .waitFor();
    assert.match((await preview.textContent()) ?? '', /^At 0\.940/);
    assert.equal(await page.locator('#status-text').textContent(), 'Done.');
  });

  it('THEN the page reads on a phone-sized screen, and comes back after a reload', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await shot('4-phone');
    // A reload has no token in the address any more: the cookie carries it, and the results come back.
    await page.reload();
    await page.locator('section[data-folder="Barack Obama"] .grid img').first().waitFor();
    const overflow = await page.evaluate(() => {
      const { scrollWidth, clientWidth } = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document
        .documentElement;
      return scrollWidth - clientWidth;
    });
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow} px`);
  });
});
