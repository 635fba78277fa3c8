import { spawn } from 'node:child_process';
import type { FromSupervisor, ToSupervisor } from './protocol.js';

/**
 * Entry of the small process that stands between a worker and an external trainer. The trainer runs
 * in a process group of its own so a stop reaches whatever it started (a Python trainer's data
 * loaders, a shell script's children). This process stays connected to the worker over IPC: when the
 * worker dies, even by SIGKILL, the channel closes and the trainer's whole group is killed here, so
 * no orphan keeps training (and writing into the job's directory) beside the job's next attempt.
 */

/** Between SIGTERM and SIGKILL on a stop: time for a trainer to save nothing of value and leave. */
const GRACE_MS = 2000;

let group: number | undefined;
let exited = false;

const send = (msg: FromSupervisor) =>
  new Promise<void>((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(msg, undefined, {}, () => resolve());
  });

const killGroup = (signal: NodeJS.Signals) => {
  if (group === undefined) return;
  try {
    process.kill(-group, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
};

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  killGroup('SIGTERM');
  setTimeout(() => killGroup('SIGKILL'), GRACE_MS).unref();
}

/** Nobody is left to report to, or we are told to go: nothing of the trainer may outlive us. */
function abandon() {
  killGroup('SIGKILL');
  process.exit(0);
}

process.on('disconnect', abandon);
process.on('SIGTERM', abandon);
process.on('SIGHUP', abandon);
// Ctrl-C in a terminal reaches the worker's whole process group, this process included: the worker
// decides what happens to the job (a drain lets it finish), so this one does not die of it.
process.on('SIGINT', () => {});

process.on('message', (msg: ToSupervisor) => {
  if (msg.type === 'stop') return stop();
  if (msg.type !== 'run' || group !== undefined) return;
  const child = spawn(msg.command, msg.args, {
    cwd: msg.cwd,
    env: msg.env,
    detached: true,
    shell: false,
    // Straight into this process's pipes, which the worker reads: no copy through here.
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  group = child.pid;
  child.on('spawn', () => void send({ type: 'spawned', pid: child.pid as number }));
  child.on('error', (err) => {
    if (exited) return;
    exited = true;
    void send({ type: 'spawn_error', message: err.message }).then(() => process.exit(0));
  });
  child.on('exit', (code, signal) => {
    if (exited) return;
    exited = true;
    // Whatever the trainer left running in its group ends with it.
    killGroup('SIGKILL');
    void send({ type: 'exit', code, signal, stopped: stopping }).then(() => process.exit(0));
  });
});
