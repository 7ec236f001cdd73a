/**
 * A detector family sees the same windows as every other detector (the look schedule is its
 * `intervalSeconds`, a multiple of the simulation tick) and may have several variants computed
 * from the same evidence (e.g. Flagger threshold 1 and 5). A variant alarms once and stays alarmed.
 */
import type { Window } from '../simulate.js';

export interface Detector {
  /** Feed the window [w.startSec, w.endSec) of length intervalSeconds. */
  update(window: Window): void;
  /** Per variant: true once it has alarmed. */
  readonly alarmed: boolean[];
}

export interface DetectorFamily {
  id: string;
  intervalSeconds: number;
  /** Variant names, in the order of `alarmed`. */
  variants: string[];
  create(): Detector;
}
