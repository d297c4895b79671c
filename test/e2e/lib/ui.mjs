// What a user does in the workbench, as helpers over a playwright page: run a command from the
// palette, open a file, read notifications, the Runs view, the Problems panel, hovers,
// completions, code lenses and webviews. Every wait has a deadline.
import { waitFor } from './wait.mjs';

const QUICK_INPUT = '.quick-input-widget';
const QUICK_ROWS = '.quick-input-widget .quick-input-list .monaco-list-row';

async function openQuickInput(page, text) {
  await page.keyboard.press('F1');
  const input = page.locator(`${QUICK_INPUT} input`);
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(text);
}

async function quickRowLabels(page) {
  return page.locator(QUICK_ROWS).evaluateAll((rows) => rows.map((row) => row.getAttribute('aria-label') ?? row.textContent ?? ''));
}

/** Picks the quick-input row whose aria-label satisfies `matches` (waits for it), by clicking it. */
async function pickQuickRow(page, description, matches, timeoutMs = 15_000) {
  const index = await waitFor(description, async () => {
    const labels = await quickRowLabels(page);
    const found = labels.findIndex(matches);
    if (found < 0) throw new Error(`rows are: ${JSON.stringify(labels)}`);
    return found + 1;
  }, { timeoutMs });
  await page.locator(QUICK_ROWS).nth(index - 1).click();
  await page.locator(QUICK_INPUT).waitFor({ state: 'hidden', timeout: 10_000 });
}

/** Runs a command from the palette by its full title ("LoRA Lab: Start LoRA Run"). */
export async function runCommand(page, title) {
  await openQuickInput(page, `>${title}`);
  await pickQuickRow(page, `the command palette to offer "${title}"`, (label) => label === title || label.startsWith(`${title},`));
}

/** Opens a workspace file by its name through Quick Open and waits for its editor. */
export async function openFile(page, fileName) {
  await openQuickInput(page, fileName);
  await pickQuickRow(page, `Quick Open to list ${fileName}`, (label) => label.split(',')[0].trim() === fileName, 30_000);
  await waitFor(`an editor tab for ${fileName}`, () => page.locator(`.tabs-container .tab.active[aria-label^="${fileName}"]`).count());
  await page.locator('.editor-instance .monaco-editor .view-lines').first().waitFor({ state: 'visible', timeout: 10_000 });
}

/** Moves the cursor of the active editor to 1-based `line`:`column` (Go to Line/Column). */
export async function goToPosition(page, line, column) {
  await openQuickInput(page, `:${line}:${column}`);
  await page.keyboard.press('Enter');
  await page.locator(QUICK_INPUT).waitFor({ state: 'hidden', timeout: 10_000 });
  await waitFor(`the cursor at ${line}:${column}`, async () => {
    const text = await page.locator('#status\\.editor\\.selection').textContent();
    return text?.includes(`Ln ${line}, Col ${column}`);
  }, { timeoutMs: 10_000 });
}

/** Texts and severities of the notifications visible now (toasts and the notification center). */
export async function notificationTexts(page) {
  return page.locator('.notification-list-item').evaluateAll((items) => items.filter((item) => item.checkVisibility()).map((item) => {
    const message = item.querySelector('.notification-list-item-message')?.textContent ?? '';
    const icon = item.querySelector('.notification-list-item-icon');
    const severity = icon?.classList.contains('codicon-error') ? 'error' : icon?.classList.contains('codicon-warning') ? 'warning' : 'info';
    return { message, severity };
  }));
}

/** Waits for a notification whose message matches `pattern`; returns { message, severity }. */
export async function waitForNotification(page, pattern, timeoutMs = 30_000) {
  return waitFor(`a notification matching ${pattern}`, async () => {
    const all = await notificationTexts(page);
    const hit = all.find((notification) => pattern.test(notification.message));
    if (!hit) throw new Error(`notifications: ${JSON.stringify(all.map((n) => n.message))}`);
    return hit;
  }, { timeoutMs });
}

export async function clearNotifications(page) {
  await runCommand(page, 'Notifications: Clear All Notifications');
  await waitFor('notifications to clear', async () => (await page.locator('.notifications-toasts .notification-list-item').count()) === 0, { timeoutMs: 10_000 });
}

/** Shows the LoRA Lab container's Runs view and returns its pane locator. */
export async function showRunsView(page) {
  await runCommand(page, 'LoRA Lab: Focus on Runs View');
  const pane = page.locator('.pane:has(.pane-header[aria-label^="Runs"])').first();
  await pane.waitFor({ state: 'visible', timeout: 10_000 });
  return pane;
}

/** Rows of the Runs view: aria-label (name, description, status) and visible text. */
export async function runsRows(page) {
  const pane = page.locator('.pane:has(.pane-header[aria-label^="Runs"])').first();
  return pane.locator('.pane-body .monaco-list-row').evaluateAll((rows) => rows.map((row) => ({
    label: row.getAttribute('aria-label') ?? '',
    text: row.textContent ?? '',
    level: Number(row.getAttribute('aria-level') ?? 1),
  })));
}

/** Opens the Problems panel and returns its rows (aria-labels hold message, line and column). */
export async function problems(page) {
  return page.locator('.markers-panel .monaco-list-row').evaluateAll((rows) => rows.map((row) => row.getAttribute('aria-label') ?? row.textContent ?? ''));
}

export async function showProblems(page) {
  await runCommand(page, 'View: Focus Problems (Errors, Warnings, Infos)');
  await page.locator('.markers-panel').first().waitFor({ state: 'visible', timeout: 10_000 });
}

/** Text of the visible editor hover. */
export async function hoverText(page) {
  const hover = page.locator('.monaco-hover:not(.hidden) .monaco-hover-content').first();
  return (await hover.isVisible()) ? (await hover.textContent()) ?? '' : '';
}

/** Labels in the open suggest widget. */
export async function suggestions(page) {
  return page.locator('.editor-widget.suggest-widget.visible .monaco-list-row').evaluateAll((rows) => rows.map((row) => row.querySelector('.label-name')?.textContent ?? row.getAttribute('aria-label') ?? ''));
}

/** Texts of the code lenses in the active editor. */
export async function codeLenses(page) {
  return page.locator('.editor-instance .monaco-editor .codelens-decoration').evaluateAll((lenses) => lenses.map((lens) => lens.textContent ?? ''));
}

/** The 1-based line numbers of the active editor's visible lines, by text. */
export function lineOf(text, needle) {
  const index = text.split('\n').findIndex((line) => line.includes(needle));
  if (index < 0) throw new Error(`fixture has no line containing ${JSON.stringify(needle)}`);
  return index + 1;
}

/** The frame inside a webview panel whose document satisfies `selector`. */
export async function webviewFrame(page, selector, timeoutMs = 30_000) {
  return waitFor(`a webview showing ${selector}`, async () => {
    for (const frame of page.frames()) {
      if (frame === page.mainFrame()) continue;
      if (await frame.locator(selector).count().catch(() => 0)) return frame;
    }
    return undefined;
  }, { timeoutMs });
}

/** Whether the workbench is in Restricted Mode (workspace untrusted). */
export async function isRestricted(page) {
  const label = await page.locator('#status\\.workspaceTrust').getAttribute('aria-label').catch(() => null);
  return Boolean(label && /Restricted Mode/.test(label));
}
