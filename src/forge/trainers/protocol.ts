/** Messages between a worker and the supervisor process of an external trainer (supervisor.ts). */
export type ToSupervisor =
  | { type: 'run'; command: string; args: string[]; env: Record<string, string>; cwd: string }
  | { type: 'stop' };

export type FromSupervisor =
  | { type: 'spawned'; pid: number }
  | { type: 'spawn_error'; message: string }
  | { type: 'exit'; code: number | null; signal: string | null; stopped: boolean };
