import { Placeholder } from '../../components/Placeholder.js';

export default function ApprovalsPage() {
  return <Placeholder title="Approvals">Changes waiting for your approval or your group's.</Placeholder>;
}
