// Byte counts as people read them, in binary units: one format for the
// terminal, the server's messages and the editor (which imports this file).

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB'];

/** "512 bytes", "1.5 KiB", "42.8 MiB", "256.1 KiB": one decimal (a size just over a limit must not read as the limit), no trailing ".0". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1).replace(/\.0$/, '')} ${UNITS[unit]}`;
}
