// Live refresh: every `data-poll-ms` the script asks the server for the current URL's `<main>`
// (header `x-errand-fragment: 1`) and swaps it in, unless the reader is in the middle of
// something there (a checked box, a focused field, selected text), or the tab is hidden.

let refreshing: Promise<void> | null = null;
let afterSwap: () => void = () => {};

function main(): HTMLElement | null {
  return document.getElementById('main');
}

function readerIsBusy(el: HTMLElement): boolean {
  if (el.querySelector('input[type=checkbox]:checked')) return true;
  const active = document.activeElement;
  if (active && el.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName)) return true;
  const selection = window.getSelection();
  return !!selection && !selection.isCollapsed && el.contains(selection.anchorNode);
}

async function load(): Promise<void> {
  const el = main();
  if (!el) return;
  const live = document.getElementById('live');
  try {
    const res = await fetch(location.href, {
      headers: { 'x-errand-fragment': '1' },
      cache: 'no-store',
      credentials: 'same-origin',
    });
    if (!(res.headers.get('content-type') ?? '').includes('text/html') || res.status >= 500)
      throw new Error(String(res.status));
    el.innerHTML = await res.text();
    live?.classList.remove('stale');
    afterSwap();
  } catch {
    live?.classList.add('stale');
  }
}

/** Re-fetches `<main>` now (after an action), whether or not the reader is busy. */
export function refreshNow(): Promise<void> {
  refreshing ??= load().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** Starts polling; `onSwap` runs after each swap (to redraw charts). */
export function startRefresh(onSwap: () => void): void {
  afterSwap = onSwap;
  const ms = Number(document.body.dataset.pollMs ?? 0);
  if (!(ms > 0)) return;
  const live = document.getElementById('live');
  if (live) live.hidden = false;
  const tick = async () => {
    const el = main();
    if (el && !document.hidden && !readerIsBusy(el)) await refreshNow();
    setTimeout(tick, ms);
  };
  setTimeout(tick, ms);
}
