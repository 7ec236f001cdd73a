/** Labels for a change's risk and state: the text carries the meaning, the colour only helps. */
import type { RiskRecord } from '../../../../src/core/governance/records.js';

export function RiskBadge({ risk }: { risk: Pick<RiskRecord, 'level' | 'score'> | null | undefined }) {
  if (!risk) return <span className="badge risk-none">not assessed</span>;
  return (
    <span className={`badge risk-${risk.level}`} title={`Risk ${risk.level}, score ${risk.score} of 100`}>
      {risk.level} · {risk.score}
    </span>
  );
}

export function StateBadge({ state }: { state: string }) {
  return <span className={`badge state-${state.toLowerCase()}`}>{state}</span>;
}
