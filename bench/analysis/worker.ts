/**
 * Child process (forked by run.ts with the parent's tsx loader flags): runs chunks of scenarios
 * and sends the results back. A process rather than a worker thread: Node 20 worker threads do
 * not get tsx's module hooks.
 */
import { familiesForScenario } from './detectors/index.js';
import { runChunk } from './harness.js';
import type { Scenario } from './scenarios.js';

export interface Task {
  id: number;
  scenario: Scenario;
  seed: number;
  runStart: number;
  runEnd: number;
}

process.on('message', (task: Task) => {
  try {
    const before = process.cpuUsage();
    const result = runChunk(task.scenario, familiesForScenario(task.scenario), task.seed, task.runStart, task.runEnd);
    const used = process.cpuUsage(before);
    process.send!({ id: task.id, result, cpuMicros: used.user + used.system });
  } catch (error) {
    process.send!({ id: task.id, error: error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error) });
  }
});
