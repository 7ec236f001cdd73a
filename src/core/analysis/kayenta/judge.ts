// PLACEHOLDER: the mannWhitney judge is being written (issue 4).
import type { AnalysisJudge } from '../judge.js';
export const mannWhitneyJudge: AnalysisJudge = {
  name: 'mannWhitney',
  check: () => [],
  judge: () => ({ phase: 'Error', message: 'mannWhitney judge not implemented yet', details: null }),
};
