/** Client calls for the calendar API (see src/server/calendar/routes.ts). */
import type { Call } from './call.js';

export function calendarApi(call: Call) {
  void call;
  return {};
}
export type CalendarApi = ReturnType<typeof calendarApi>;
