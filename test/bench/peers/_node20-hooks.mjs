// Module resolve hook (registered by boringnode.mjs only when fs/promises has no
// `glob`, i.e. Node < 22): sends @boringnode/queue's import of fs/promises to
// _node20-fs-glob-shim.mjs. Nothing else is redirected.
const SHIM = new URL('./_node20-fs-glob-shim.mjs', import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  if (
    (specifier === 'fs/promises' || specifier === 'node:fs/promises') &&
    context.parentURL?.includes('/node_modules/@boringnode/queue/')
  ) {
    return { url: SHIM, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}
