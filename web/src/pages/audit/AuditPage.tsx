import { Placeholder } from '../../components/Placeholder.js';

export default function AuditPage() {
  return <Placeholder title="Audit log">The audit trail, searchable, with the chain's verification state.</Placeholder>;
}
