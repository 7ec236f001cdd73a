import { Placeholder } from '../../components/Placeholder.js';

export default function ReleasesPage() {
  return <Placeholder title="Releases">Each release's scope, components, go/no-go and path through environments.</Placeholder>;
}
