// The date a chat template may write into the prompt (Llama 3.x writes "Today Date: ..." in its
// system turn through strftime_now). Text before the repository is part of the prefix cache, so
// the server chooses the date instead of the clock: the day the cache was first prefilled, not
// the day it is read, or every cache would be prefilled again each morning. Formatted here rather
// than by @huggingface/jinja's own strftime_now, which reads the clock and the host's locale
// (a French host would write "déc." where the model was trained on "Dec").
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Python's strftime for the directives chat templates use (%Y %m %d %b %B %H %M %%), in UTC and English. */
export function formatTemplateDate(date: Date, format: string): string {
  return format.replace(/%[YmdbBHM%]/g, (directive) => {
    switch (directive) {
      case '%Y':
        return String(date.getUTCFullYear());
      case '%m':
        return pad2(date.getUTCMonth() + 1);
      case '%d':
        return pad2(date.getUTCDate());
      case '%b':
        return MONTHS[date.getUTCMonth()].slice(0, 3);
      case '%B':
        return MONTHS[date.getUTCMonth()];
      case '%H':
        return pad2(date.getUTCHours());
      case '%M':
        return pad2(date.getUTCMinutes());
      default:
        return '%';
    }
  });
}

/** The day of `date` (UTC midnight), as kept in a cache's record. */
export function templateDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** The Date of a day written by templateDay, or undefined when `day` is not one. */
export function parseTemplateDay(day: unknown): Date | undefined {
  if (typeof day !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(day)) return undefined;
  const date = new Date(`${day}T00:00:00Z`);
  return Number.isNaN(date.getTime()) || templateDay(date) !== day ? undefined : date;
}
