/** A rollout phase as a coloured label; the text itself carries the meaning (not only the colour). */
export function PhaseBadge({ phase }: { phase: string }) {
  return <span className={`badge phase-${phase.toLowerCase().replace(/[^a-z]+/g, '-')}`}>{phase}</span>;
}
