import { Placeholder } from '../../components/Placeholder.js';

export default function RolloutsPage() {
  return <Placeholder title="Rollouts">Every rollout with its steps, weights and verdicts.</Placeholder>;
}
