import type { Store } from '../ports/store.js';
import type { Commit } from './transaction.js';

/** What every governance feature's routes get from the app. */
export interface GovernanceRouteDeps {
  store: Store;
  commit: Commit;
  now: () => Date;
  /** Wakes the engine for a Deployment after a commit (e.g. its change was approved). */
  onDeploymentChange: (name: string) => void;
}
