// PLACEHOLDER: the sequential judge is being written (issue 4).
import type { AnalysisJudge } from '../judge.js';
export const sequentialJudge: AnalysisJudge = {
  name: 'sequential',
  check: () => [],
  judge: () => ({ phase: 'Error', message: 'sequential judge not implemented yet', details: null }),
};
