import { useParams } from 'wouter';
import { Placeholder } from '../../components/Placeholder.js';

export default function RolloutPage() {
  const { name = '' } = useParams<{ name: string }>();
  return <Placeholder title={`Rollout ${name}`}>Its step timeline, traffic and analysis evidence will be shown here.</Placeholder>;
}
