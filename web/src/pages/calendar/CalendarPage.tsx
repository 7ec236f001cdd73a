import { Placeholder } from '../../components/Placeholder.js';

export default function CalendarPage() {
  return <Placeholder title="Calendar">Windows and planned changes by week and month.</Placeholder>;
}
