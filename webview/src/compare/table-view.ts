// The comparison table's DOM: a sortable header (buttons, aria-sort), one row per base / variant /
// run with its actions, best values marked, keyboard use (arrows move between rows, Enter or Space
// selects a run for the loss chart). The DOM contract: data-table, data-row-kind, data-run /
// data-variant, data-col + data-value.
import type { CompareColumn, CompareRow, CompareTable, SortDirection } from '../../../language-server/src/lib/compare/table';

export type RowAction = 'start-variant' | 'evaluate' | 'dashboard' | 'reveal' | 'copy';

export interface TableHandlers {
  sort(key: string): void;
  toggleSelected(row: CompareRow): void;
  action(row: CompareRow, action: RowAction): void;
}

const GROUP_TITLES: Record<string, string> = {
  info: '',
  setting: 'settings that differ',
  predicted: 'predicted',
  measured: 'measured',
  error: 'prediction error',
  eval: 'evaluation',
  delta: 'vs base',
};

function button(label: string, action: RowAction, title: string): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'row-action';
  b.textContent = label;
  b.title = title;
  b.dataset.action = action;
  return b;
}

function actionsOf(row: CompareRow, canStart: boolean): HTMLButtonElement[] {
  if (row.kind === 'variant')
    return [
      ...(canStart ? [button('Start', 'start-variant', 'Queue a run of this variant')] : []),
      button('Copy YAML', 'copy', "Copy this variant's settings as YAML overrides"),
    ];
  if (row.kind === 'run' && row.status !== 'incomplete' && row.status !== 'unreadable')
    return [
      button('Dashboard', 'dashboard', "Open the run's dashboard"),
      button('Evaluate', 'evaluate', 'Evaluate this run'),
      button('Reveal', 'reveal', 'Reveal the run folder'),
      button('Copy YAML', 'copy', "Copy this run's settings as YAML overrides"),
    ];
  return [];
}

export function renderTable(
  table: CompareTable,
  rows: readonly CompareRow[],
  sort: { key: string | null; dir: SortDirection },
  selected: ReadonlySet<string>,
  canStart: boolean,
  handlers: TableHandlers,
): HTMLTableElement {
  const element = document.createElement('table');
  element.dataset.table = 'compare';
  const head = element.createTHead();
  const groups = head.insertRow();
  groups.className = 'group-row';
  const corner = document.createElement('th');
  groups.append(corner);
  let previous: string | undefined;
  let groupCell: HTMLTableCellElement | undefined;
  for (const column of table.columns) {
    if (column.group === previous && groupCell) {
      groupCell.colSpan += 1;
      continue;
    }
    previous = column.group;
    groupCell = document.createElement('th');
    groupCell.textContent = GROUP_TITLES[column.group] ?? '';
    groupCell.className = `group group-${column.group}`;
    groups.append(groupCell);
  }
  const header = head.insertRow();
  const rowHeader = document.createElement('th');
  rowHeader.textContent = 'row';
  rowHeader.scope = 'col';
  header.append(rowHeader);
  for (const column of table.columns) header.append(headerCell(column, sort, handlers));
  const actionsHeader = document.createElement('th');
  actionsHeader.scope = 'col';
  actionsHeader.textContent = 'actions';
  header.append(actionsHeader);
  const actionsGroup = document.createElement('th');
  groups.append(actionsGroup);

  const body = element.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    tr.dataset.rowKind = row.kind;
    tr.dataset.rowId = row.id;
    tr.dataset.status = row.status;
    if (row.run) tr.dataset.run = row.run;
    if (row.kind === 'variant' && row.variant !== null) tr.dataset.variant = String(row.variant);
    tr.tabIndex = 0;
    const isSelected = row.runDir !== null && selected.has(row.runDir);
    if (row.kind === 'run') tr.setAttribute('aria-selected', String(isSelected));
    tr.className = `row-${row.kind}${isSelected ? ' selected' : ''}`;
    const labelCell = document.createElement('th');
    labelCell.scope = 'row';
    const label = document.createElement('span');
    label.className = 'row-label';
    label.textContent = row.label;
    label.title = row.label;
    labelCell.append(label);
    tr.append(labelCell);
    const actions = document.createElement('td');
    actions.className = 'row-actions';
    for (const b of actionsOf(row, canStart)) {
      b.addEventListener('click', (event) => {
        event.stopPropagation();
        handlers.action(row, b.dataset.action as RowAction);
      });
      actions.append(b);
    }
    for (const column of table.columns) {
      const cell = row.cells[column.key];
      const td = tr.insertCell();
      td.dataset.col = column.key;
      if (!cell) continue;
      td.dataset.value = cell.value !== null ? String(cell.value) : cell.text;
      td.textContent = cell.text;
      if (cell.best) {
        td.classList.add('best');
        td.title = `best ${column.label}`;
      }
      if (column.group !== 'setting' && column.group !== 'info') td.classList.add('num');
      if (column.group === 'error' && cell.value !== null && Math.abs(cell.value) > 15) td.classList.add('off');
    }
    tr.append(actions);
    tr.addEventListener('click', () => handlers.toggleSelected(row));
    tr.addEventListener('keydown', (event) => onRowKey(event, tr, row, handlers));
  }
  return element;
}

function headerCell(
  column: CompareColumn,
  sort: { key: string | null; dir: SortDirection },
  handlers: TableHandlers,
): HTMLTableCellElement {
  const th = document.createElement('th');
  th.scope = 'col';
  th.dataset.col = column.key;
  th.title = column.description;
  const active = sort.key === column.key;
  th.setAttribute('aria-sort', active ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none');
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'sort';
  b.dataset.sort = column.key;
  b.textContent = `${column.label}${active ? (sort.dir === 'asc' ? ' ▲' : ' ▼') : ''}`;
  b.addEventListener('click', () => handlers.sort(column.key));
  th.append(b);
  return th;
}

function onRowKey(event: KeyboardEvent, tr: HTMLTableRowElement, row: CompareRow, handlers: TableHandlers): void {
  if (event.target !== tr) return;
  if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
    const next = (event.key === 'ArrowDown' ? tr.nextElementSibling : tr.previousElementSibling) as HTMLElement | null;
    next?.focus();
    event.preventDefault();
  } else if (event.key === 'Enter' || event.key === ' ') {
    handlers.toggleSelected(row);
    event.preventDefault();
  }
}
