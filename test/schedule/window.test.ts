// Maintenance windows: local weekday and time in the fleet's zone, exclusive ends, windows
// that run past midnight, whole-day windows, and the two DST change days in Europe/Berlin.
// Every instant is a fixed UTC time; January 2026 in Berlin is UTC+1 (Mon 5 .. Sat 10).
import { describe, expect, it } from 'vitest';
import { isKnownTimeZone, isWithinWindow, localTime, type MaintenanceWindow, nextOpening } from '../../src/schedule/window.ts';

/** A UTC instant in January 2026 (day of month, hour, minute). */
const jan = (day: number, hour: number, minute = 0) => Date.UTC(2026, 0, day, hour, minute);
const at = (hh: number, mm: number) => hh * 60 + mm;

const officeHours: MaintenanceWindow = { timeZone: 'Europe/Berlin', days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' };
const fridayNight: MaintenanceWindow = { timeZone: 'Europe/Berlin', days: ['fri'], start: '22:00', end: '05:00' };

describe('isWithinWindow', () => {
  it.each([jan(5, 0), jan(10, 12), Date.UTC(2026, 2, 29, 1, 0), 0])('is always open without a window (%d)', (now) => {
    expect(isWithinWindow(null, now)).toBe(true);
  });

  it.each([
    { name: 'is open at the start (Mon 09:00 Berlin)', now: jan(5, 8, 0), open: true },
    { name: 'is closed one minute before the start (Mon 08:59 Berlin)', now: jan(5, 7, 59), open: false },
    { name: 'is open in the middle of the day (Wed 12:30 Berlin)', now: jan(7, 11, 30), open: true },
    { name: 'is open one minute before the end (Fri 16:59 Berlin)', now: jan(9, 15, 59), open: true },
    { name: 'is closed at the end: the end is exclusive (Fri 17:00 Berlin)', now: jan(9, 16, 0), open: false },
    { name: 'is closed on a Saturday inside the hours (Sat 12:00 Berlin)', now: jan(10, 11, 0), open: false },
    { name: 'is closed on a Sunday inside the hours (Sun 12:00 Berlin)', now: jan(11, 11, 0), open: false },
    { name: 'is open at 09:00 UTC, which is 10:00 in Berlin', now: jan(5, 9, 0), open: true },
    { name: 'is closed at 16:30 UTC, which is 17:30 in Berlin', now: jan(5, 16, 30), open: false },
  ])('a 09:00-17:00 Mon-Fri Berlin window $name', ({ now, open }) => {
    expect(isWithinWindow(officeHours, now)).toBe(open);
  });

  it.each([
    { name: 'opens on Friday at 22:00', now: jan(9, 21, 0), open: true },
    { name: 'is closed on Friday at 21:59', now: jan(9, 20, 59), open: false },
    { name: 'is open on Friday at 23:59', now: jan(9, 22, 59), open: true },
    { name: 'is open on Saturday at 00:00', now: jan(9, 23, 0), open: true },
    { name: 'covers Saturday 04:59', now: jan(10, 3, 59), open: true },
    { name: 'does not cover Saturday 05:00: the end is exclusive', now: jan(10, 4, 0), open: false },
    { name: 'does not cover Saturday 22:00: Saturday is not a start day', now: jan(10, 21, 0), open: false },
    { name: 'does not cover Friday 04:00: that belongs to a Thursday night', now: jan(9, 3, 0), open: false },
    { name: 'does not cover Sunday 04:00', now: jan(11, 3, 0), open: false },
  ])('a Fri 22:00-05:00 Berlin window $name', ({ now, open }) => {
    expect(isWithinWindow(fridayNight, now)).toBe(open);
  });

  it.each([
    { name: 'covers Friday 04:00 when Thursday is a start day', now: jan(9, 3, 0), open: true },
    { name: 'covers Thursday 22:00', now: jan(8, 21, 0), open: true },
    { name: 'still covers Saturday 04:59', now: jan(10, 3, 59), open: true },
    { name: 'is closed on Friday between the two nights (Fri 12:00)', now: jan(9, 11, 0), open: false },
    { name: 'does not cover Thursday 04:00: Wednesday is not a start day', now: jan(8, 3, 0), open: false },
  ])('a Thu+Fri 22:00-05:00 Berlin window $name', ({ now, open }) => {
    expect(isWithinWindow({ ...fridayNight, days: ['thu', 'fri'] }, now)).toBe(open);
  });

  it.each([
    { name: 'is open at Monday 00:00', now: jan(4, 23, 0), open: true },
    { name: 'is open at Monday 12:00', now: jan(5, 11, 0), open: true },
    { name: 'is open at Monday 23:59', now: jan(5, 22, 59), open: true },
    { name: 'is closed at Tuesday 00:00', now: jan(5, 23, 0), open: false },
    { name: 'is closed at Sunday 23:59', now: jan(4, 22, 59), open: false },
  ])('a Monday window with start == end (00:00-00:00) means the whole day: $name', ({ now, open }) => {
    expect(isWithinWindow({ timeZone: 'Europe/Berlin', days: ['mon'], start: '00:00', end: '00:00' }, now)).toBe(open);
  });

  it.each([
    { name: 'is open at Monday 03:00, before the given time', now: jan(5, 2, 0), open: true },
    { name: 'is open at Monday 20:00, after the given time', now: jan(5, 19, 0), open: true },
    { name: 'is closed at Tuesday 03:00', now: jan(6, 2, 0), open: false },
  ])('a Monday window with start == end (09:00-09:00) also means the whole calendar day: $name', ({ now, open }) => {
    expect(isWithinWindow({ timeZone: 'Europe/Berlin', days: ['mon'], start: '09:00', end: '09:00' }, now)).toBe(open);
  });

  it('is closed on every day when no days are given', () => {
    const closed: MaintenanceWindow = { ...officeHours, days: [] };
    for (let day = 4; day <= 10; day++) expect(isWithinWindow(closed, jan(day, 11, 0))).toBe(false);
  });

  it.each([
    { timeZone: 'Asia/Tokyo', open: true }, // Tue 10:00
    { timeZone: 'America/New_York', open: false }, // Mon 20:00
    { timeZone: 'Europe/Berlin', open: false }, // Tue 02:00
    { timeZone: 'UTC', open: false }, // Tue 01:00
  ])('judges one instant (Tue 01:00 UTC) in the window zone: 09:00-17:00 Mon-Fri in $timeZone is open: $open', ({ timeZone, open }) => {
    expect(isWithinWindow({ ...officeHours, timeZone }, jan(6, 1, 0))).toBe(open);
  });

  it('uses the local weekday, not the UTC one (Mon 20:00 in New York is Tue 01:00 UTC)', () => {
    const mondayOnly: MaintenanceWindow = { timeZone: 'America/New_York', days: ['mon'], start: '18:00', end: '22:00' };
    expect(isWithinWindow(mondayOnly, jan(6, 1, 0))).toBe(true);
    expect(isWithinWindow({ ...mondayOnly, timeZone: 'UTC' }, jan(6, 1, 0))).toBe(false);
  });

  it.each([
    // 2026-03-29: 02:00 CET jumps to 03:00 CEST at 01:00 UTC; there is no 02:xx that night.
    { name: 'is closed just before the spring jump (01:59 CET)', now: Date.UTC(2026, 2, 29, 0, 59), open: false },
    { name: 'is closed just after the spring jump (03:00 CEST)', now: Date.UTC(2026, 2, 29, 1, 0), open: false },
    // 2026-10-25: 03:00 CEST falls back to 02:00 CET at 01:00 UTC; 02:xx happens twice.
    { name: 'is open at the first 02:00 of the autumn change (CEST)', now: Date.UTC(2026, 9, 25, 0, 0), open: true },
    { name: 'is open at the second 02:30 of the autumn change (CET)', now: Date.UTC(2026, 9, 25, 1, 30), open: true },
    { name: 'is closed at 03:00 CET after the autumn change', now: Date.UTC(2026, 9, 25, 2, 0), open: false },
  ])('a Sunday 02:00-03:00 Berlin window on a DST change day $name', ({ now, open }) => {
    expect(isWithinWindow({ timeZone: 'Europe/Berlin', days: ['sun'], start: '02:00', end: '03:00' }, now)).toBe(open);
  });
});

describe('localTime', () => {
  it.each([
    { name: 'Berlin in winter is UTC+1', zone: 'Europe/Berlin', now: jan(5, 8, 0), expected: { day: 'mon', minute: at(9, 0) } },
    { name: 'midnight is minute 0, not 24:00', zone: 'Europe/Berlin', now: jan(4, 23, 0), expected: { day: 'mon', minute: 0 } },
    { name: 'the last minute of the day is 23:59', zone: 'Europe/Berlin', now: jan(5, 22, 59), expected: { day: 'mon', minute: at(23, 59) } },
    { name: 'Tokyo is UTC+9 and already the next day', zone: 'Asia/Tokyo', now: jan(5, 20, 0), expected: { day: 'tue', minute: at(5, 0) } },
    { name: 'New York in winter is UTC-5 and still the day before', zone: 'America/New_York', now: jan(6, 1, 0), expected: { day: 'mon', minute: at(20, 0) } },
    { name: 'Kolkata has a half-hour offset (UTC+5:30)', zone: 'Asia/Kolkata', now: jan(5, 0, 0), expected: { day: 'mon', minute: at(5, 30) } },
    { name: 'UTC is UTC', zone: 'UTC', now: jan(10, 13, 7), expected: { day: 'sat', minute: at(13, 7) } },
  ])('$name', ({ zone, now, expected }) => {
    expect(localTime(zone, now)).toEqual(expected);
  });

  it.each([
    // Spring forward, Sunday 2026-03-29 at 01:00 UTC.
    { name: 'the day before the spring change is CET (UTC+1)', now: Date.UTC(2026, 2, 28, 12, 0), expected: { day: 'sat', minute: at(13, 0) } },
    { name: 'one minute before the spring change is 01:59 CET', now: Date.UTC(2026, 2, 29, 0, 59), expected: { day: 'sun', minute: at(1, 59) } },
    { name: 'the spring change skips to 03:00 CEST', now: Date.UTC(2026, 2, 29, 1, 0), expected: { day: 'sun', minute: at(3, 0) } },
    { name: 'noon on the spring change day is CEST (UTC+2)', now: Date.UTC(2026, 2, 29, 10, 0), expected: { day: 'sun', minute: at(12, 0) } },
    // Fall back, Sunday 2026-10-25 at 01:00 UTC.
    { name: 'the first 02:30 of the autumn change is CEST', now: Date.UTC(2026, 9, 25, 0, 30), expected: { day: 'sun', minute: at(2, 30) } },
    { name: 'one minute before the autumn change is 02:59 CEST', now: Date.UTC(2026, 9, 25, 0, 59), expected: { day: 'sun', minute: at(2, 59) } },
    { name: 'the autumn change goes back to 02:00 CET', now: Date.UTC(2026, 9, 25, 1, 0), expected: { day: 'sun', minute: at(2, 0) } },
    { name: 'the second 02:30 of the autumn change is CET', now: Date.UTC(2026, 9, 25, 1, 30), expected: { day: 'sun', minute: at(2, 30) } },
    { name: 'noon on the autumn change day is CET (UTC+1)', now: Date.UTC(2026, 9, 25, 11, 0), expected: { day: 'sun', minute: at(12, 0) } },
  ])('in Europe/Berlin, $name', ({ now, expected }) => {
    expect(localTime('Europe/Berlin', now)).toEqual(expected);
  });
});

describe('isKnownTimeZone', () => {
  it.each(['Europe/Berlin', 'Asia/Tokyo', 'America/New_York', 'UTC', 'Asia/Kolkata'])('knows %s', (zone) => {
    expect(isKnownTimeZone(zone)).toBe(true);
  });

  it.each(['Mars/Olympus_Mons', 'Europe/Atlantis', 'not a zone', ''])('does not know %j', (zone) => {
    expect(isKnownTimeZone(zone)).toBe(false);
  });

  it('stays unknown when asked again (a failed lookup is not cached as known)', () => {
    expect(isKnownTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isKnownTimeZone('Mars/Olympus_Mons')).toBe(false);
  });
});

describe('nextOpening', () => {
  const weeknights: MaintenanceWindow = { timeZone: 'Europe/Berlin', days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '22:00', end: '05:00' };

  it('names Monday 22:00 Berlin for the README\'s weeknight window on a Saturday', () => {
    // Saturday 10 January 2026, 12:00 in Berlin: the Friday night window closed at 05:00.
    expect(nextOpening(weeknights, jan(10, 11, 0))).toEqual({ at: jan(12, 21, 0), local: 'Mon 22:00 Europe/Berlin' });
  });

  it('is null while the window is open, also in the part past midnight (Sat 03:00 Berlin)', () => {
    expect(nextOpening(weeknights, jan(10, 2, 0))).toBeNull();
    expect(nextOpening(null, jan(10, 2, 0))).toBeNull();
  });

  it('names the same evening on a weekday afternoon', () => {
    expect(nextOpening(weeknights, jan(7, 14, 30))).toEqual({ at: jan(7, 21, 0), local: 'Wed 22:00 Europe/Berlin' });
  });

  it('names a week ahead for a one-day window that just closed', () => {
    expect(nextOpening(fridayNight, jan(10, 4, 0))).toEqual({ at: jan(16, 21, 0), local: 'Fri 22:00 Europe/Berlin' });
  });

  it('opens a whole-day window at midnight', () => {
    const sundays: MaintenanceWindow = { timeZone: 'UTC', days: ['sun'], start: '00:00', end: '00:00' };
    expect(nextOpening(sundays, jan(10, 11, 0))).toEqual({ at: jan(11, 0, 0), local: 'Sun 00:00 UTC' });
  });

  it('keeps the local time across the spring DST change in Berlin (UTC+1 -> UTC+2 on 29 March 2026)', () => {
    // Saturday 28 March 12:00 Berlin (11:00 UTC); Monday 30 March 22:00 Berlin is 20:00 UTC.
    expect(nextOpening(weeknights, Date.UTC(2026, 2, 28, 11, 0))).toEqual({ at: Date.UTC(2026, 2, 30, 20, 0), local: 'Mon 22:00 Europe/Berlin' });
  });
});
