import { Placeholder } from '../../components/Placeholder.js';

export default function ChangesPage() {
  return <Placeholder title="Changes">Change records with their risk, approvals and window.</Placeholder>;
}
