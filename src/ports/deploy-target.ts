/** Where a version of a service runs: local processes, commands/Ansible, Kubernetes. One instance serves one service in one environment. */

export interface TargetCapabilities {
  /** Can run more than one instance of a version. */
  readonly replicas: boolean;
  /** Captures per-version output that `logs()` can return. */
  readonly logs: boolean;
}

export interface EnsureRequest {
  version: string;
  /** Desired instance count (1 when the target cannot scale). */
  replicas: number;
  artifactDigest?: string;
  environment?: string;
  /** Extra environment for the version's processes or commands (already resolved, may hold secrets). */
  env?: Readonly<Record<string, string>>;
  /**
   * The values in `env` that came from secrets. The target gives them to its processes and commands
   * and keeps them out of everything it writes or returns: captured output (on disk too), `message`,
   * `logs()` (values shorter than 4 characters need not be redacted, see src/core/secrets/redact.ts).
   */
  secrets?: readonly string[];
  /** What the version is for: `stable`, `canary`, or a blue-green `preview`. Absent: not known (a restore). */
  role?: 'stable' | 'canary' | 'preview';
  /** The canary traffic weight (0-100) the version is about to serve; absent when not known. */
  canaryWeight?: number;
}

export type InstancePhase = 'starting' | 'running' | 'unhealthy' | 'failed' | 'stopped';

export interface VersionState {
  version: string;
  phase: InstancePhase;
  /** Where the router sends traffic for this version, "host:port". */
  endpoints: string[];
  /** True when every desired instance passes its health check. */
  healthy: boolean;
  restarts: number;
  /** Last failure or health message, never containing secret values. */
  message?: string;
}

export interface DeployTarget {
  readonly capabilities: TargetCapabilities;
  /**
   * Makes `version` run with `replicas` instances and returns its state once it is healthy or has
   * failed (bounded by the target's start timeout). Safe to repeat: a version already running is
   * left as it is, never restarted.
   */
  ensure(request: EnsureRequest): Promise<VersionState>;
  /** Current state of every version this target runs. Safe to repeat; no side effects. */
  observe(): Promise<VersionState[]>;
  /** Stops every instance of `version`. Safe to repeat: retiring an absent version does nothing. */
  retire(version: string): Promise<void>;
  /** Last lines of a version's output. null: the target keeps no logs, or knows no such version. */
  logs(version: string, lines: number): Promise<string[] | null>;
  /** Stops everything this target started (process exit, tests). Safe to repeat. */
  close(): Promise<void>;
}
