// Action buttons (`data-post`): a JSON POST to the API path, the answer's message in the flash
// area, then a refresh so the counts move. `data-selection` posts the checked boxes' values as
// `{ "uuids": [...] }`; `data-confirm` asks first.

import { refreshNow } from './refresh';

/** Shows a message in the flash area. */
export function flash(message: string, ok: boolean): void {
  const el = document.getElementById('flash');
  if (!el) return;
  el.textContent = message;
  el.className = ok ? 'ok' : 'error';
}

async function post(button: HTMLButtonElement): Promise<void> {
  const { post: url, body, confirm: question, selection } = button.dataset;
  if (!url) return;
  let payload: unknown = body ? JSON.parse(body) : {};
  if (selection) {
    const boxes = document.querySelectorAll<HTMLInputElement>(`input[type=checkbox][name="${selection}"]:checked`);
    const uuids = Array.from(boxes, (b) => b.value);
    if (uuids.length === 0) return flash('Select some jobs first.', false);
    payload = { uuids };
  }
  if (question && !window.confirm(question)) return;
  button.disabled = true;
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(payload),
      credentials: 'same-origin',
    });
    const answer = (await res.json().catch(() => null)) as { ok?: boolean; message?: string; error?: string } | null;
    flash(answer?.message ?? answer?.error ?? `${res.status} ${res.statusText}`, res.ok && answer?.ok !== false);
  } catch (error) {
    flash(`The request failed: ${(error as Error).message}`, false);
  } finally {
    button.disabled = false;
  }
  for (const box of document.querySelectorAll<HTMLInputElement>('main input[type=checkbox]')) box.checked = false;
  await refreshNow();
}

/** Listens for clicks on action buttons and changes of select-all boxes (delegated, so swaps keep working). */
export function bindActions(): void {
  document.addEventListener('click', (event) => {
    const button = (event.target as Element | null)?.closest?.('button[data-post]');
    if (button instanceof HTMLButtonElement) {
      event.preventDefault();
      void post(button);
    }
  });
  document.addEventListener('change', (event) => {
    const box = event.target;
    if (!(box instanceof HTMLInputElement) || !box.dataset.selectAll) return;
    for (const other of document.querySelectorAll<HTMLInputElement>(
      `input[type=checkbox][name="${box.dataset.selectAll}"]`,
    )) {
      other.checked = box.checked;
    }
  });
}
