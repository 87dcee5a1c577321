import { renderStub } from '../console/stubs.js';

/**
 * Renders a config stub like {@link renderStub}, except that a line holding nothing but a
 * placeholder whose value is empty disappears, so an optional setting (say `user=`) is left out
 * instead of leaving a blank or half-written line behind.
 */
export function renderConfigStub(template: string, values: Record<string, string>): string {
  const pruned = template.replace(/^[ \t]*\{\{\s*(\w+)\s*\}\}[ \t]*\r?\n/gm, (line, key: string) =>
    values[key] === '' ? '' : line,
  );
  return renderStub(pruned, values);
}
