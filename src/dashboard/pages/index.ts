import type { PageContext } from '../page-context.js';

// A placeholder the `ui` lane replaces with the real pages: it proves the seam (base href, nonce,
// the assets route) until then.

/** Renders the page the context names. */
export async function renderPage(context: PageContext): Promise<string> {
  const main = `<main><h1>${context.page}</h1></main>`;
  if (context.fragment) return main;
  return `<!doctype html><html><head><meta charset="utf-8"><base href="${context.basePath}"><title>errand</title></head><body>${main}<script nonce="${context.nonce}" src="assets/app.js"></script></body></html>`;
}
