/**
 * The overview's rows as an ARIA table whose body is virtualized (@tanstack/react-virtual): only
 * the rows in view (plus a few) are in the DOM, so 1,000 services × environments scroll smoothly.
 * Rows are measured, so the phone layout (two lines per row) needs no separate size.
 */
import { useVirtualizer } from '@tanstack/react-virtual';
import { useRef } from 'react';
import { Link } from 'wouter';
import { PhaseBadge } from '../../components/PhaseBadge.js';
import { formatRelative, formatTimestamp } from '../../format.js';
import type { OverviewRow } from './derive.js';

const COLUMNS = ['Service', 'Environment', 'Running', 'Rolling out', 'Phase', 'Updated'];

export function OverviewList({ rows }: { rows: readonly OverviewRow[] }) {
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => 44,
    overscan: 12,
    getItemKey: (index) => rows[index]!.key,
  });
  const now = Date.now();

  return (
    <div className="vtable" role="table" aria-label="Services by environment" aria-rowcount={rows.length + 1}>
      <div role="rowgroup" className="vtable-head">
        <div role="row" className="vrow" aria-rowindex={1}>
          {COLUMNS.map((column) => (
            <span role="columnheader" key={column}>
              {column}
            </span>
          ))}
        </div>
      </div>
      <div ref={scroller} className="vtable-scroll" tabIndex={0} aria-label="Rows (scroll)" role="rowgroup">
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {virtualizer.getVirtualItems().map((item) => {
            const row = rows[item.index]!;
            return (
              <div
                role="row"
                key={item.key}
                data-index={item.index}
                ref={virtualizer.measureElement}
                aria-rowindex={item.index + 2}
                className="vrow"
                style={{ position: 'absolute', top: 0, left: 0, width: '100%', transform: `translateY(${item.start}px)` }}
              >
                <span role="cell" className="cell-service">
                  {row.deployment ? (
                    <Link href={`/rollouts/${encodeURIComponent(row.deployment)}`} title={`Rollout ${row.deployment}`}>
                      {row.service}
                    </Link>
                  ) : (
                    row.service
                  )}
                </span>
                <span role="cell" className="cell-env">
                  {row.environment ?? '—'}
                </span>
                <span role="cell" className="cell-version">
                  <span className="cell-label">running </span>
                  {row.running ?? '—'}
                </span>
                <span role="cell" className="cell-version">
                  <span className="cell-label">rolling out </span>
                  {row.rollingOut ? `${row.rollingOut}${row.canaryWeight !== null ? ` · ${row.canaryWeight}%` : ''}` : '—'}
                </span>
                <span role="cell" title={row.message ?? undefined}>
                  <PhaseBadge phase={row.phase} />
                </span>
                <span role="cell" className="cell-updated">
                  {row.updatedAt ? <time dateTime={row.updatedAt} title={formatTimestamp(row.updatedAt)}>{formatRelative(row.updatedAt, now)}</time> : '—'}
                </span>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
