// What a user does in the workbench, as helpers over a playwright page: run a command from the
// palette, open a file, read notifications, the Runs view, the Problems panel, hovers,
// completions, code lenses and webviews. Every wait has a deadline.
import { WaitAborted, waitFor } from './wait.mjs';

const QUICK_INPUT = '.quick-input-widget';
const QUICK_ROWS = '.quick-input-widget .quick-input-list .monaco-list-row';

async function openQuickInput(page, text) {
  const input = page.locator(`${QUICK_INPUT} input`);
  // A webview that takes the focus while it loads (a dashboard opened by the click before) closes
  // the palette again: then open it once more and type.
  await waitFor(
    `the command palette to take "${text}"`,
    async () => {
      await showQuickInput(page, input);
      await input.fill(text, { timeout: 5_000 });
      return (await input.inputValue()) === text;
    },
    { timeoutMs: 45_000, intervalMs: 200 },
  );
}

async function showQuickInput(page, input) {
  await waitFor(
    'the command palette to open',
    async () => {
      await page.keyboard.press('F1');
      if (
        await input.waitFor({ state: 'visible', timeout: 3_000 }).then(
          () => true,
          () => false,
        )
      )
        return true;
      // Focus inside a webview can swallow F1: give the workbench the focus (an empty spot of the
      // activity bar, which does nothing on click) and try again.
      const bar = await page.locator('.part.activitybar').boundingBox();
      if (bar) await page.mouse.click(bar.x + bar.width / 2, bar.y + bar.height * 0.6);
      throw new Error('F1 did not open the palette');
    },
    { timeoutMs: 20_000, intervalMs: 100 },
  );
}

async function quickRowLabels(page) {
  return page.locator(QUICK_ROWS).evaluateAll((rows) => rows.map((row) => row.getAttribute('aria-label') ?? row.textContent ?? ''));
}

/** Picks the quick-input row whose aria-label satisfies `matches` (waits for it), by clicking it. */
async function pickQuickRow(page, description, matches, timeoutMs = 15_000, closes = true) {
  const index = await waitFor(
    description,
    async () => {
      const labels = await quickRowLabels(page);
      const found = labels.findIndex(matches);
      if (found < 0) throw new Error(`rows are: ${JSON.stringify(labels)}`);
      return found + 1;
    },
    { timeoutMs },
  );
  const row = page.locator(QUICK_ROWS).nth(index - 1);
  // Enter accepts the focused row in every picker (a click only previews in some, e.g. themes).
  if (((await row.getAttribute('class')) ?? '').split(' ').includes('focused')) await page.keyboard.press('Enter');
  else await row.click();
  if (closes) await page.locator(QUICK_INPUT).waitFor({ state: 'hidden', timeout: 10_000 });
}

/** Runs a command from the palette by its full title ("LoRA Lab: Start LoRA Run"). */
export async function runCommand(page, title) {
  await openQuickInput(page, `>${title}`);
  await pickQuickRow(page, `the command palette to offer "${title}"`, (label) => label === title || label.startsWith(`${title},`));
}

/**
 * "Developer: Reload Window", waiting for the page to load again and the workbench to come back:
 * until the reload starts, the old page (and its webviews) is still there to be found.
 */
export async function reloadWindow(page, timeoutMs = 90_000) {
  const loaded = page.waitForEvent('load', { timeout: timeoutMs });
  await openQuickInput(page, '>Developer: Reload Window');
  await pickQuickRow(
    page,
    'the command palette to offer "Developer: Reload Window"',
    (label) => label.startsWith('Developer: Reload Window'),
    15_000,
    false,
  );
  await loaded;
  await page.locator('.monaco-workbench').first().waitFor({ timeout: timeoutMs });
}

/** Switches the color theme through "Preferences: Color Theme" and waits for the workbench to show it. */
export async function setColorTheme(page, theme, kind) {
  const title = 'Preferences: Color Theme';
  await openQuickInput(page, `>${title}`);
  await pickQuickRow(
    page,
    `the command palette to offer "${title}"`,
    (label) => label === title || label.startsWith(`${title},`),
    15_000,
    false,
  );
  await waitFor(
    'the theme picker',
    async () => /Color Theme/.test((await page.locator(`${QUICK_INPUT} input`).getAttribute('placeholder')) ?? ''),
    { timeoutMs: 10_000 },
  );
  await page.locator(`${QUICK_INPUT} input`).fill(theme);
  // Rows read "<label> <id>, <group>", e.g. "Light Modern Default Light Modern, light themes".
  await pickQuickRow(page, `the theme picker to offer ${theme}`, (label) => label.startsWith(`${theme} `) || label.startsWith(`${theme},`));
  const css = { light: 'vs', dark: 'vs-dark', 'high-contrast': 'hc-black' }[kind];
  await waitFor(`the workbench in the ${kind} theme ${theme}`, () => page.locator(`.monaco-workbench.${css}`).count(), {
    timeoutMs: 20_000,
  });
}

/** Opens a workspace file by its name through Quick Open and waits for its editor. */
export async function openFile(page, fileName) {
  await openQuickInput(page, fileName);
  // Rows read "<name> <folder>, file results" (the folder is absent at the root).
  await pickQuickRow(page, `Quick Open to list ${fileName}`, (label) => label.split(/[ ,]/)[0] === fileName, 30_000);
  await waitFor(`an editor tab for ${fileName}`, () => page.locator(`.tabs-container .tab.active[aria-label^="${fileName}"]`).count());
  await page.locator('.editor-instance .monaco-editor .view-lines').first().waitFor({ state: 'visible', timeout: 10_000 });
}

/** Moves the cursor of the active editor to 1-based `line`:`column` (Go to Line/Column). */
export async function goToPosition(page, line, column) {
  await openQuickInput(page, `:${line}:${column}`);
  await page.keyboard.press('Enter');
  await page.locator(QUICK_INPUT).waitFor({ state: 'hidden', timeout: 10_000 });
  await waitFor(
    `the cursor at ${line}:${column}`,
    async () => {
      const text = await page.locator('#status\\.editor\\.selection').textContent();
      return text?.includes(`Ln ${line}, Col ${column}`);
    },
    { timeoutMs: 10_000 },
  );
}

/** Texts and severities of the notifications visible now (toasts and the notification center). */
export async function notificationTexts(page) {
  return page.locator('.notification-list-item').evaluateAll((items) =>
    items
      .filter((item) => item.checkVisibility())
      .map((item) => {
        const message = item.querySelector('.notification-list-item-message')?.textContent ?? '';
        const icon = item.querySelector('.notification-list-item-icon');
        const severity = icon?.classList.contains('codicon-error')
          ? 'error'
          : icon?.classList.contains('codicon-warning')
            ? 'warning'
            : 'info';
        return { message, severity };
      }),
  );
}

/** Text of an open modal dialog (e.g. "command ... not found"), or '' when none is open. */
export async function modalDialogText(page) {
  const dialog = page.locator('.monaco-dialog-box').first();
  return (await dialog.isVisible()) ? ((await dialog.textContent()) ?? '').replace(/\s+/g, ' ').trim() : '';
}

/** Waits for a notification whose message matches `pattern`; returns { message, severity }. */
export async function waitForNotification(page, pattern, timeoutMs = 30_000) {
  return waitFor(
    `a notification matching ${pattern}`,
    async () => {
      const dialog = await modalDialogText(page);
      if (dialog) throw new WaitAborted(`a modal dialog is open instead: ${dialog}`);
      const all = await notificationTexts(page);
      const hit = all.find((notification) => pattern.test(notification.message));
      if (!hit) throw new Error(`notifications: ${JSON.stringify(all.map((n) => n.message))}`);
      return hit;
    },
    { timeoutMs },
  );
}

export async function clearNotifications(page) {
  await runCommand(page, 'Notifications: Clear All Notifications');
  await waitFor('notifications to clear', async () => (await page.locator('.notifications-toasts .notification-list-item').count()) === 0, {
    timeoutMs: 10_000,
  });
}

/** Shows the LoRA Lab container's Runs view and returns its pane locator. */
export async function showRunsView(page) {
  await runCommand(page, 'LoRA Lab: Focus on Runs View');
  const pane = page.locator('.pane:has(.pane-header[aria-label^="Runs"])').first();
  await pane.waitFor({ state: 'visible', timeout: 10_000 });
  return pane;
}

const RUNS_ROWS = '.pane:has(.pane-header[aria-label^="Runs"]) .pane-body .monaco-list-row';

/** Rows of the Runs view: aria-label, visible text (label and description), level, expanded, icon classes. */
export async function runsRows(page) {
  return page
    .locator(RUNS_ROWS)
    .evaluateAll((rows) =>
      rows.map((row) => ({
        label: row.getAttribute('aria-label') ?? '',
        text: row.textContent ?? '',
        level: Number(row.getAttribute('aria-level') ?? 1),
        expanded: row.getAttribute('aria-expanded'),
        icon: [...row.querySelectorAll('.custom-view-tree-node-item-icon, .codicon')].map((icon) => icon.className).join(' '),
      })),
    );
}

/**
 * Waits for the Runs view row of the run whose name starts with `namePrefix` to satisfy `accept`
 * (expanding collapsed groups on the way); returns the row.
 */
export async function waitForRunRow(page, namePrefix, description, accept = () => true, { timeoutMs = 60_000, abort } = {}) {
  return waitFor(
    `the Runs view to show run ${namePrefix}… ${description}`,
    async () => {
      if (abort) await abort();
      const rows = await runsRows(page);
      const collapsed = rows.findIndex((row) => row.expanded === 'false');
      // The visible text starts with the run's name (aria-labels may hold paths that contain it too).
      const run = rows.find((row) => row.text.trim().startsWith(namePrefix));
      if (!run && collapsed >= 0) {
        await page.locator(RUNS_ROWS).nth(collapsed).click();
        throw new Error('expanded a group');
      }
      if (!run || !accept(run)) throw new Error(`rows: ${JSON.stringify(rows.map(({ text, icon }) => ({ text, icon })))}`);
      return run;
    },
    { timeoutMs, intervalMs: 300 },
  );
}

/**
 * Right-clicks the run's row and picks `action` from its context menu. A refresh of the Runs view
 * may re-render its rows and close the menu before the pick: then it is opened again (up to 4 tries).
 */
export async function runContextAction(page, namePrefix, action) {
  const row = page
    .locator(RUNS_ROWS)
    .filter({ hasText: new RegExp(`^\\s*${namePrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`) })
    .first();
  const menu = page.locator('.context-view .monaco-menu');
  const labels = page.locator('.context-view .monaco-menu .action-item:not(.disabled) .action-label');
  const item = labels.filter({ hasText: new RegExp(`^${action}$`) }).first();
  let problem = '';
  for (let attempt = 1; attempt <= 4; attempt += 1) {
    await row.click({ button: 'right' });
    const offered = await waitFor(
      `the run's context menu to offer "${action}"`,
      async () => {
        if (await item.isVisible()) return true;
        const texts = await page.locator('.context-view .monaco-menu .action-label').allTextContents();
        throw new Error(`the context menu offers ${JSON.stringify(texts.filter(Boolean))}`);
      },
      { timeoutMs: 5_000 },
    ).catch((err) => {
      problem = err.message;
      return false;
    });
    if (!offered) continue;
    // Keyboard selection: the menu takes focus when it opens; walk down to the action and press Enter.
    const items = await labels.allTextContents();
    for (let i = 0; i <= items.length && (await menu.count()) > 0; i += 1) {
      const [focused] = (await page.locator('.context-view .monaco-menu .action-item.focused .action-label').allTextContents()).map(
        (text) => text.trim(),
      );
      if (focused === action) {
        await page.keyboard.press('Enter');
        await menu.first().waitFor({ state: 'hidden', timeout: 10_000 });
        await page.mouse.move(0, 0); // no tooltip of the row over the next screenshots
        return;
      }
      await page.keyboard.press('ArrowDown');
    }
    problem = `the context menu closed, or "${action}" could not be focused (items: ${JSON.stringify(items)})`;
    await page.keyboard.press('Escape');
  }
  throw new Error(`could not pick "${action}" from the context menu of run ${namePrefix} in 4 tries: ${problem}`);
}

/** Whether a Runs row shows the state (icon or words), e.g. completed -> codicon-pass. */
export function rowShowsState(row, state) {
  const icons = { completed: 'codicon-pass', running: 'codicon-sync', stopped: 'codicon-debug-pause', failed: 'codicon-error' };
  return row.icon.includes(icons[state]) || new RegExp(state, 'i').test(`${row.label} ${row.text}`);
}

/**
 * Whether `text` shows `value` after `word` ("loss 2.345") to the precision printed: the
 * difference is at most half a unit of the last printed digit.
 */
export function showsNumber(text, word, value) {
  const match = new RegExp(`(?:^|[^a-z])${word}\\s*[:=]?\\s*(-?\\d+(?:\\.(\\d+))?(?:e([-+]?\\d+))?)`, 'i').exec(text);
  if (!match) return false;
  const decimals = (match[2]?.length ?? 0) - Number(match[3] ?? 0);
  return Math.abs(Number(match[1]) - value) <= 0.5 * 10 ** -decimals + 1e-12;
}

/** Aria-labels of the Problems panel's rows ("Error: <message> at line 3 and character 5. generated by <source>"). */
export async function problemRows(page) {
  return page
    .locator('.markers-panel .monaco-list-row')
    .evaluateAll((rows) => rows.map((row) => row.getAttribute('aria-label') ?? row.textContent ?? ''));
}

/** The Problems panel's marker rows as { severity, message, line, column, source }. */
export async function problems(page) {
  const markers = [];
  for (const label of await problemRows(page)) {
    const match = /^(Error|Warning|Info|Hint)?:?\s*([^]*) at line (\d+) and character (\d+)\.(?: generated by ([^]*))?$/.exec(label);
    if (match)
      markers.push({
        severity: (match[1] ?? 'info').toLowerCase(),
        message: match[2],
        line: Number(match[3]),
        column: Number(match[4]),
        source: match[5] ?? '',
      });
  }
  return markers;
}

export async function showProblems(page) {
  await runCommand(page, 'View: Focus Problems (Errors, Warnings, Infos)');
  await page.locator('.markers-panel').first().waitFor({ state: 'visible', timeout: 10_000 });
}

/** Text of the visible editor hover. */
export async function hoverText(page) {
  const hover = page.locator('.monaco-hover:not(.hidden) .monaco-hover-content').first();
  return (await hover.isVisible()) ? ((await hover.textContent()) ?? '') : '';
}

/**
 * Shows the hover at the cursor (Ctrl+K Ctrl+I) until its text matches `pattern` (a language
 * server answers only once it is up, so the keystroke is repeated until the deadline).
 */
export async function waitForHover(page, pattern, timeoutMs = 30_000) {
  return waitFor(
    `a hover matching ${pattern}`,
    async () => {
      await page.keyboard.press('Control+K');
      await page.keyboard.press('Control+I');
      const text = await waitFor('the hover to show', () => hoverText(page), { timeoutMs: 1_500 }).catch(() => '');
      if (!pattern.test(text)) throw new Error(`hover shows ${JSON.stringify(text)}`);
      return text;
    },
    { timeoutMs, intervalMs: 500 },
  );
}

/** Labels in the open suggest widget. */
export async function suggestions(page) {
  return page
    .locator('.editor-widget.suggest-widget.visible .monaco-list-row')
    .evaluateAll((rows) => rows.map((row) => row.querySelector('.label-name')?.textContent ?? row.getAttribute('aria-label') ?? ''));
}

/** Triggers completion at the cursor (Ctrl+Space) until the list satisfies `accept` (repeated until the deadline). */
export async function waitForSuggestions(page, description, accept, timeoutMs = 30_000) {
  return waitFor(
    description,
    async () => {
      await page.keyboard.press('Control+Space');
      const labels = await waitFor('the suggest widget', async () => (await suggestions(page)).length > 0 && suggestions(page), {
        timeoutMs: 2_000,
      }).catch(() => []);
      if (!accept(labels)) {
        await page.keyboard.press('Escape');
        throw new Error(`suggestions are ${JSON.stringify(labels)}`);
      }
      return labels;
    },
    { timeoutMs, intervalMs: 500 },
  );
}

/** Texts of the code lenses in the active editor. */
export async function codeLenses(page) {
  return page
    .locator('.editor-instance .monaco-editor .codelens-decoration')
    .evaluateAll((lenses) => lenses.map((lens) => lens.textContent ?? ''));
}

/** The 1-based number of the first line of `text` that contains `needle`. */
export function lineOf(text, needle) {
  const index = text.split('\n').findIndex((line) => line.includes(needle));
  if (index < 0) throw new Error(`fixture has no line containing ${JSON.stringify(needle)}`);
  return index + 1;
}

/** The frame inside a webview panel whose document satisfies `selector`. */
export async function webviewFrame(page, selector, timeoutMs = 30_000) {
  return waitFor(
    `a webview showing ${selector}`,
    async () => {
      for (const frame of page.frames()) {
        if (frame === page.mainFrame()) continue;
        if (
          await frame
            .locator(selector)
            .count()
            .catch(() => 0)
        )
          return frame;
      }
      return undefined;
    },
    { timeoutMs },
  );
}

/** Whether the workbench is in Restricted Mode (workspace untrusted). */
export async function isRestricted(page) {
  const label = await page
    .locator('#status\\.workspaceTrust')
    .getAttribute('aria-label')
    .catch(() => null);
  return Boolean(label && /Restricted Mode/.test(label));
}
