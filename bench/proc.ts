// What the benchmarks read from /proc about a process tree: the processes in it, their
// resident memory and their CPU time. Linux only, like the benchmarks themselves.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** VmRSS of one process in KiB; 0 once it is gone. */
export function rssKiB(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0; // the process is gone
  }
}

/** The process and all its descendants (e.g. nginx master and workers, bsdiff children). */
export function processTree(pid: number): number[] {
  const pids = [pid];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      try {
        for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ')) {
          if (child.trim()) pids.push(...processTree(Number(child)));
        }
      } catch {
        // the thread ended while we listed
      }
    }
  } catch {
    // gone meanwhile
  }
  return pids;
}

export const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU seconds (user + system) the given processes have used so far. */
export function cpuSecondsOf(pids: number[]): number {
  let ticks = 0;
  for (const p of pids) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      // Fields after the ")" that ends the command name: utime is field 14, stime 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone meanwhile
    }
  }
  return ticks / CLOCK_TICKS;
}

/**
 * CPU seconds a PostgreSQL cluster has used so far: the postmaster and the processes under
 * it now (backends, checkpointer, walwriter, autovacuum), plus those it has already reaped
 * (its cutime/cstime), so a backend that ended between two readings still counts. The
 * postmaster's pid is the first line of <dataDir>/postmaster.pid.
 */
export function postgresCpuSeconds(dataDir: string): number {
  const postmaster = Number(readFileSync(`${dataDir}/postmaster.pid`, 'utf8').split('\n')[0]);
  let reapedTicks = 0;
  try {
    const stat = readFileSync(`/proc/${postmaster}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // cutime is field 16, cstime 17.
    reapedTicks = Number(fields[13]) + Number(fields[14]);
  } catch {
    // gone meanwhile
  }
  return cpuSecondsOf(processTree(postmaster)) + reapedTicks / CLOCK_TICKS;
}
