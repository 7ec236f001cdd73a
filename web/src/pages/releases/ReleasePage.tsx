import { Placeholder } from '../../components/Placeholder.js';

export default function ReleasePage() {
  return <Placeholder title="Release">One release: scope by classification, components and digests, go/no-go criteria, its path.</Placeholder>;
}
