// Stand-in for `node:fs/promises` seen only by @boringnode/queue on Node < 22.
// @boringnode/queue 0.6 imports `glob` from fs/promises (added in Node 22) at
// module load, only to auto-discover job files from `locations`. The runners
// register jobs explicitly and never use `locations`, so a throwing `glob` is
// enough. Everything else is the real fs/promises.
import fsp from 'node:fs/promises';

export * from 'node:fs/promises';
export default fsp;
export function glob() {
  throw new Error(
    'fs/promises glob needs Node >= 22: @boringnode/queue `locations` auto-discovery is unavailable here',
  );
}
