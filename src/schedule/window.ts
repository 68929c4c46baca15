// Maintenance windows: the days and hours, in the fleet's time zone, in which a campaign's
// devices may be commanded (and woken by Package 0). A window whose end is before its
// start runs past midnight and belongs to the day it starts on (Fri 22:00-05:00 covers
// Saturday 04:00). Pure: the time is passed in.

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface MaintenanceWindow {
  /** IANA zone, e.g. Europe/Berlin. */
  timeZone: string;
  days: Weekday[];
  /** HH:MM, 24-hour clock. start == end means the whole day. */
  start: string;
  end: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when `timeZone` is one this runtime knows (checked when a campaign is created). */
export function isKnownTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** The local weekday and minute of the day at `now` in `timeZone`. */
export function localTime(timeZone: string, now: number): { day: Weekday; minute: number } {
  const parts = formatter(timeZone).formatToParts(new Date(now));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const day = get('weekday').toLowerCase().slice(0, 3) as Weekday;
  return { day, minute: Number(get('hour')) * 60 + Number(get('minute')) };
}

/** A campaign's stored window (JSON, or null for "any time"). */
export function windowOf(stored: string | null): MaintenanceWindow | null {
  return stored ? (JSON.parse(stored) as MaintenanceWindow) : null;
}

/** Whether a campaign's devices may be commanded now: inside its window, or at any time when it is forced. */
export function campaignWindowOpen(campaign: { window: string | null; forcedReason: string | null }, now: number): boolean {
  return campaign.forcedReason !== null || isWithinWindow(windowOf(campaign.window), now);
}

export function isWithinWindow(window: MaintenanceWindow | null, now: number): boolean {
  if (!window) return true;
  const { day, minute } = localTime(window.timeZone, now);
  const start = minutesOf(window.start);
  const end = minutesOf(window.end);
  const today = window.days.includes(day);
  if (start === end) return today;
  if (start < end) return today && minute >= start && minute < end;
  const yesterday = WEEKDAYS[(WEEKDAYS.indexOf(day) + 6) % 7] as Weekday;
  return (today && minute >= start) || (window.days.includes(yesterday) && minute < end);
}

const MINUTE = 60_000;
const DAY_MINUTES = 24 * 60;
const DAY_WORDS: Readonly<Record<Weekday, string>> = { sun: 'Sun', mon: 'Mon', tue: 'Tue', wed: 'Wed', thu: 'Thu', fri: 'Fri', sat: 'Sat' };

export interface WindowOpening {
  /** When it opens next (epoch ms, to the minute). */
  at: number;
  /** The same in the window's own words: `Mon 22:00 Europe/Berlin`. */
  local: string;
}

/**
 * When a closed window opens next: the start of the first listed day after `now` (null
 * when the window is open now or lists no days). Counted in local minutes, then checked
 * against the zone's clock once, so a daylight-saving change in between moves the instant,
 * not the local time people read.
 */
export function nextOpening(window: MaintenanceWindow | null, now: number): WindowOpening | null {
  if (!window || window.days.length === 0 || isWithinWindow(window, now)) return null;
  const { day, minute } = localTime(window.timeZone, now);
  // A whole-day window (start == end) opens at midnight.
  const start = window.start === window.end ? 0 : minutesOf(window.start);
  const today = WEEKDAYS.indexOf(day);
  for (let ahead = 0; ahead <= 7; ahead++) {
    const opensOn = WEEKDAYS[(today + ahead) % 7] as Weekday;
    const minutesAway = ahead * DAY_MINUTES + start - minute;
    if (!window.days.includes(opensOn) || minutesAway <= 0) continue;
    let at = Math.floor(now / MINUTE) * MINUTE + minutesAway * MINUTE;
    const drift = localTime(window.timeZone, at).minute - start;
    if (drift !== 0 && Math.abs(drift) <= 120) at -= drift * MINUTE;
    const hhmm = window.start === window.end ? '00:00' : window.start;
    return { at, local: `${DAY_WORDS[opensOn]} ${hhmm} ${window.timeZone}` };
  }
  return null;
}
