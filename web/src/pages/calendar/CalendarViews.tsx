/**
 * The calendar's three presentations of the same placed items: the week grid (hours × days), the
 * month table, and the agenda list (phones). Each item is focusable (a link for a change, a button
 * for a window occurrence) and names everything about itself in its accessible name and tooltip;
 * focusing or hovering it also shows it in the page's details panel.
 */
import { DateTime } from 'luxon';
import type { CSSProperties } from 'react';
import { Link } from 'wouter';
import { dayLabel, segmentTime, type CalendarDay, type CalendarItem, type CalendarView, type DaySegment } from './derive.js';

export interface ItemHandlers {
  /** Focus / hover (preview) or click (pin) an item. */
  onSelect(item: CalendarItem, pin: boolean): void;
  selectedId: string | undefined;
}

const KIND_LABEL = { blackout: 'Blackout', maintenance: 'Maintenance', change: 'Change' } as const;

/** The accessible name: kind, name, time on this day, own zone, conflicts. */
function accessibleName(segment: DaySegment, zone: string): string {
  const { item } = segment;
  return [
    `${KIND_LABEL[item.kind]} ${item.kind === 'change' ? item.label : item.name}`,
    `${segmentTime(segment, zone)} ${zone}`,
    ...(segment.continuesBefore ? ['continued from the previous day'] : []),
    ...(segment.continuesAfter ? ['continues the next day'] : []),
    ...(item.ownTime && !item.ownTime.endsWith(` ${zone}`) ? [`window time ${item.ownTime}`] : []),
    ...(item.severity ? [`${item.conflictMessages.length} ${item.severity} conflict${item.conflictMessages.length === 1 ? '' : 's'}`] : []),
  ].join(', ');
}

function ItemControl({ segment, zone, handlers, compact, showTime }: { segment: DaySegment; zone: string; handlers: ItemHandlers; compact?: boolean; showTime?: boolean }) {
  const { item } = segment;
  const className = ['cal-item', `cal-${item.kind}`, item.severity ? `cal-conflict-${item.severity}` : '', handlers.selectedId === item.id ? 'cal-selected' : '', compact ? 'cal-compact' : '']
    .filter(Boolean)
    .join(' ');
  const title = [...item.details, ...item.conflictMessages.map((message) => `⚠ ${message}`)].join('\n');
  const content = (
    <>
      <span className="cal-line">
        {showTime && <span className="cal-time">{segmentTime(segment, zone)}</span>}
        {item.severity && (
          <span className="cal-flag" aria-hidden="true">
            ⚠
          </span>
        )}
        <span className="cal-label">{item.kind === 'change' ? item.label : item.name}</span>
      </span>
      {!compact && item.ownTime && <span className="cal-own">{item.ownTime}</span>}
    </>
  );
  const common = {
    className,
    title,
    'aria-label': accessibleName(segment, zone),
    'data-item': item.id,
    onFocus: () => handlers.onSelect(item, false),
    onMouseEnter: () => handlers.onSelect(item, false),
  };
  return item.kind === 'change' ? (
    <Link href={`/changes/${encodeURIComponent(item.name)}`} {...common}>
      {content}
    </Link>
  ) : (
    <button type="button" {...common} aria-pressed={handlers.selectedId === item.id} onClick={() => handlers.onSelect(item, true)}>
      {content}
    </button>
  );
}

const HOURS = Array.from({ length: 24 }, (_, hour) => hour);
const pct = (minutes: number) => `${(minutes / 1440) * 100}%`;

export function WeekGrid({ days, segments, zone, handlers, nowMs }: { days: CalendarDay[]; segments: DaySegment[][]; zone: string; handlers: ItemHandlers; nowMs: number }) {
  const now = DateTime.fromMillis(nowMs, { zone });
  return (
    <div className="cal-week" data-testid="week-grid">
      <div className="cal-axis" aria-hidden="true">
        <div className="cal-dayhead" />
        <div className="cal-axis-hours">
          {HOURS.slice(1).map((hour) => (
            <span key={hour} style={{ top: pct(hour * 60) }}>
              {String(hour).padStart(2, '0')}:00
            </span>
          ))}
        </div>
      </div>
      {days.map((day, index) => {
        const label = dayLabel(day, zone, 'week');
        const isToday = nowMs >= day.startMs && nowMs < day.endMs;
        return (
          <section key={day.date} className={`cal-day${isToday ? ' cal-today' : ''}`} aria-label={`${label.long}${day.dstNote ? ` (${day.dstNote})` : ''}`}>
            <h3 className="cal-dayhead">
              <span>{label.short}</span>
              {day.dstNote && (
                <span className="cal-dst" title={day.dstNote}>
                  {day.hours} h
                </span>
              )}
            </h3>
            <div className="cal-column">
              {day.gap && <div className="cal-gap" style={{ top: pct(day.gap.fromMinute), height: pct(day.gap.toMinute - day.gap.fromMinute) }} title={day.dstNote} aria-hidden="true" />}
              {isToday && <div className="cal-now" style={{ top: pct(now.hour * 60 + now.minute) }} aria-hidden="true" />}
              {segments[index]!.length === 0 ? null : (
                <ul>
                  {segments[index]!.map((segment) => {
                    const style: CSSProperties = {
                      top: pct(segment.topMinute),
                      height: `max(1.1rem, ${pct(segment.bottomMinute - segment.topMinute)})`,
                      left: `${(segment.lane / segment.lanes) * 100}%`,
                      width: `${100 / segment.lanes}%`,
                    };
                    return (
                      <li key={segment.item.id} style={style} className={segment.continuesBefore ? 'cal-cont-before' : segment.continuesAfter ? 'cal-cont-after' : undefined}>
                        <ItemControl segment={segment} zone={zone} handlers={handlers} />
                      </li>
                    );
                  })}
                </ul>
              )}
            </div>
          </section>
        );
      })}
    </div>
  );
}

export function MonthTable({ days, segments, zone, handlers, nowMs, title }: { days: CalendarDay[]; segments: DaySegment[][]; zone: string; handlers: ItemHandlers; nowMs: number; title: string }) {
  const weeks: number[][] = [];
  for (let i = 0; i < days.length; i += 7) weeks.push(Array.from({ length: 7 }, (_, d) => i + d));
  const weekdays = days.slice(0, 7).map((day) => DateTime.fromMillis(day.startMs, { zone }).setLocale('en-GB'));
  return (
    <table className="cal-month" data-testid="month-grid">
      <caption className="visually-hidden">{title}</caption>
      <thead>
        <tr>
          {weekdays.map((day) => (
            <th key={day.weekday} scope="col" abbr={day.toFormat('cccc')}>
              {day.toFormat('ccc')}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {weeks.map((week) => (
          <tr key={days[week[0]!]!.date}>
            {week.map((index) => {
              const day = days[index]!;
              const label = dayLabel(day, zone, 'month');
              const isToday = nowMs >= day.startMs && nowMs < day.endMs;
              return (
                <td key={day.date} className={[day.inMonth ? '' : 'cal-outside', isToday ? 'cal-today' : ''].filter(Boolean).join(' ') || undefined} aria-label={label.long}>
                  <div className="cal-date">
                    {isToday ? <strong aria-current="date">{label.short}</strong> : label.short}
                    {day.dstNote && (
                      <span className="cal-dst" title={day.dstNote}>
                        {day.hours} h
                      </span>
                    )}
                  </div>
                  {segments[index]!.length > 0 && (
                    <ul>
                      {segments[index]!.map((segment) => (
                        <li key={segment.item.id}>
                          <ItemControl segment={segment} zone={zone} handlers={handlers} compact showTime />
                        </li>
                      ))}
                    </ul>
                  )}
                </td>
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function AgendaList({ entries, zone, handlers, view }: { entries: { day: CalendarDay; segments: DaySegment[] }[]; zone: string; handlers: ItemHandlers; view: CalendarView }) {
  if (entries.length === 0) return null;
  return (
    <ol className="cal-agenda" data-testid="agenda" aria-label={`Agenda for this ${view}`}>
      {entries.map(({ day, segments }) => (
        <li key={day.date}>
          <h3>
            {dayLabel(day, zone, 'week').long}
            {day.dstNote && <span className="cal-dst"> · {day.dstNote}</span>}
          </h3>
          <ul>
            {segments.map((segment) => (
              <li key={segment.item.id}>
                <ItemControl segment={segment} zone={zone} handlers={handlers} showTime />
                {segment.item.conflictMessages.length > 0 && segment.item.kind === 'change' && (
                  <ul className="cal-agenda-conflicts">
                    {segment.item.conflictMessages.map((message) => (
                      <li key={message}>{message}</li>
                    ))}
                  </ul>
                )}
              </li>
            ))}
          </ul>
        </li>
      ))}
    </ol>
  );
}
