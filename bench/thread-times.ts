// CPU time of each thread of a process, in nanoseconds, from /proc/<pid>/task/<tid>/schedstat
// (Linux): time on a CPU, and time spent runnable but waiting for one. /proc/<pid>/stat
// counts in clock ticks (10 ms), too coarse for an upload of 10 MB that takes 40 ms of
// CPU; and the wait says how much of a wall time other work on the machine took.
import { readdirSync, readFileSync } from 'node:fs';

export interface ThreadTime {
  /** ns on a CPU. */
  cpu: number;
  /** ns runnable, waiting for a CPU (other processes had it). */
  wait: number;
}

/** Every thread of `pid` now; a thread that ends between the listing and the read is left out. */
export function threadTimes(pid: number): Map<number, ThreadTime> {
  const threads = new Map<number, ThreadTime>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return threads; // the process is gone
  }
  for (const tid of tids) {
    try {
      const [cpu = '0', wait = '0'] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ');
      threads.set(Number(tid), { cpu: Number(cpu), wait: Number(wait) });
    } catch {
      // ended meanwhile
    }
  }
  return threads;
}

/** What each thread used between two readings (threads born since count from zero). */
export function threadDelta(before: Map<number, ThreadTime>, after: Map<number, ThreadTime>): Map<number, ThreadTime> {
  const delta = new Map<number, ThreadTime>();
  for (const [tid, now] of after) {
    const then = before.get(tid) ?? { cpu: 0, wait: 0 };
    delta.set(tid, { cpu: now.cpu - then.cpu, wait: now.wait - then.wait });
  }
  return delta;
}

/** Summed over the threads `pick` chooses, in ms. */
export function sumMs(delta: Map<number, ThreadTime>, pick: (tid: number) => boolean = () => true): { cpu: number; wait: number } {
  let cpu = 0;
  let wait = 0;
  for (const [tid, t] of delta) {
    if (!pick(tid)) continue;
    cpu += t.cpu;
    wait += t.wait;
  }
  return { cpu: cpu / 1e6, wait: wait / 1e6 };
}

/**
 * Bytes each thread of `pid` has read and written through syscalls so far (rchar + wchar of
 * /proc/<pid>/task/<tid>/io: files, sockets and pipes alike), to tell which threads do I/O.
 */
export function threadIoBytes(pid: number): Map<number, number> {
  const threads = new Map<number, number>();
  for (const tid of threadTimes(pid).keys()) {
    try {
      const io = readFileSync(`/proc/${pid}/task/${tid}/io`, 'utf8');
      const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io)?.[1] ?? 0);
      threads.set(tid, field('rchar') + field('wchar'));
    } catch {
      // ended meanwhile
    }
  }
  return threads;
}
