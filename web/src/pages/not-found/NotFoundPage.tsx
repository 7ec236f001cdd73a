import { Link, useLocation } from 'wouter';
import { usePageTitle } from '../../hooks/usePageTitle.js';

export default function NotFoundPage() {
  const [location] = useLocation();
  usePageTitle('Not found');
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Not found</h1>
      <p>
        There is no page at <code>{location}</code>. <Link href="/">Go to the overview</Link>.
      </p>
    </section>
  );
}
