import { existsSync } from 'node:fs';

/**
 * util-linux's setpriv (Essential on Debian) execs a command with PR_SET_PDEATHSIG, so the child is
 * killed the moment the thread that started it dies, even by kill -9, instead of running on until its
 * next write to a closed pipe (minutes for a long analysis that prints nothing; forever for an encoder
 * that sends RTP over UDP). Undefined where there is none: the command then runs as it is.
 */
export const SETPRIV = process.platform === 'linux' && existsSync('/usr/bin/setpriv') ? '/usr/bin/setpriv' : undefined;

/**
 * The command line that runs `command` and dies with its parent where the OS allows it. Only for
 * children started from the main thread: the signal follows the starting *thread*, so a worker
 * thread's child would die with the worker.
 */
export function diesWithParent(command: string, args: readonly string[]): [string, string[]] {
  return SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', command, ...args]] : [command, [...args]];
}
