import { Placeholder } from '../../components/Placeholder.js';

export default function ChangePage() {
  return <Placeholder title="Change">One change record: risk breakdown, approvals, window, audit trail.</Placeholder>;
}
