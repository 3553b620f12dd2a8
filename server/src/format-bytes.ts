// Byte counts as people read them, in binary units: one format for the
// terminal, the server's messages and the editor (which imports this file).

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB'];

/** "512 bytes", "1.5 KiB", "43 MiB": one decimal below 100, none above, no trailing ".0". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = value < 100 ? value.toFixed(1).replace(/\.0$/, '') : String(Math.round(value));
  return `${shown} ${UNITS[unit]}`;
}
