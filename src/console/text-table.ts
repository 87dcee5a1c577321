/**
 * Lays out rows in left-aligned columns as wide as their widest cell, two spaces apart, indented
 * like the other commands' output. Hand-rolled because a table dependency would be heavier than
 * the dozen lines it replaces. Cells are plain text: colour codes would break the widths.
 */
export function textTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  // The last column is not padded, so lines carry no trailing spaces.
  const line = (cells: readonly string[]) =>
    '  ' + cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ');
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
