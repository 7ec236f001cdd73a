/**
 * A small time-series chart (uPlot, canvas): x in seconds since the epoch, one or more series,
 * optional vertical markers (when a verdict fell). The chart is an image for screen readers
 * (`role="img"` with a summary); the numbers are in the tables next to it. It follows its
 * container's width, so it fits a phone.
 */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  values: Array<number | null>;
  color: string;
  dash?: number[];
}

export interface ChartMarker {
  at: number;
  label: string;
  tone: 'ok' | 'bad' | 'warn';
}

export interface TimeChartProps {
  /** Seconds since the epoch, ascending. */
  xs: number[];
  series: ChartSeries[];
  /** Formats y values on the axis and in the legend. */
  format: (value: number | null) => string;
  stepped?: boolean;
  markers?: ChartMarker[];
  /** Fixed y range, e.g. [0, 100] for a weight. */
  yRange?: [number, number];
  /** Without a fixed range: the y axis reaches at least this (so all-zero error rates still get a readable scale). */
  yMinSpan?: number;
  height?: number;
  summary: string;
  testId?: string;
  /** uPlot's legend (the values under the cursor); off for a single series. */
  legend?: boolean;
}

/** Tick spacing on the time axis, in seconds: whole seconds and up, never milliseconds. */
const X_INCREMENTS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 43_200, 86_400];
const clockLabel = (seconds: number): string => new Date(seconds * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

const TONE: Record<ChartMarker['tone'], string> = { ok: '#1a7f37', bad: '#c62828', warn: '#9a6700' };

function cssVar(element: Element, name: string, fallback: string): string {
  const value = getComputedStyle(element).getPropertyValue(name).trim();
  return value || fallback;
}

export function TimeChart({ xs, series, format, stepped = false, markers = [], yRange, height = 180, summary, testId, legend = true, yMinSpan = 1 }: TimeChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef({ markers, format });
  latest.current = { markers, format };
  const shape = `${series.map((s) => s.label).join('|')}|${stepped}|${yRange?.join(',') ?? ''}|${height}|${legend}|${yMinSpan}`;

  // (Re)create when the series' shape changes; data updates go through setData below.
  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const text = cssVar(element, '--muted', '#5b6470');
    const grid = cssVar(element, '--border', '#d5dae1');
    const axis: uPlot.Axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const options: uPlot.Options = {
      width: Math.max(200, element.clientWidth),
      height,
      scales: { x: { time: true }, y: yRange ? { range: () => yRange } : { range: (_u, min, max) => [Math.min(0, min ?? 0), Math.max(yMinSpan, (max ?? 0) * 1.15)] } },
      axes: [
        { ...axis, space: 90, incrs: X_INCREMENTS, values: (_u, splits) => splits.map(clockLabel) },
        { ...axis, size: 72, values: (_u, values) => values.map((value) => latest.current.format(value)) },
      ],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          spanGaps: false,
          ...(s.dash ? { dash: s.dash } : {}),
          ...(stepped ? { paths: uPlot.paths.stepped!({ align: 1 }), fill: `${s.color}22` } : { points: { show: true, size: 5 } }),
          value: (_u: uPlot, value: number | null) => latest.current.format(value),
        })),
      ],
      legend: { show: legend },
      cursor: { drag: { x: false, y: false } },
      hooks: {
        draw: [
          (u) => {
            const { ctx } = u;
            ctx.save();
            for (const marker of latest.current.markers) {
              const x = u.valToPos(marker.at / 1000, 'x', true);
              if (!Number.isFinite(x) || x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
              ctx.strokeStyle = TONE[marker.tone];
              ctx.lineWidth = 2 * uPlot.pxRatio;
              ctx.setLineDash([4 * uPlot.pxRatio, 3 * uPlot.pxRatio]);
              ctx.beginPath();
              ctx.moveTo(x, u.bbox.top);
              ctx.lineTo(x, u.bbox.top + u.bbox.height);
              ctx.stroke();
            }
            ctx.restore();
          },
        ],
      },
    };
    const data = [xs, ...series.map((s) => s.values)] as uPlot.AlignedData;
    const chart = new uPlot(options, data, element);
    plot.current = chart;
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(200, element.clientWidth), height }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- recreated on shape changes only
  }, [shape]);

  useEffect(() => {
    plot.current?.setData([xs, ...series.map((s) => s.values)] as uPlot.AlignedData);
  }, [xs, series, markers]);

  return <div className="time-chart" ref={host} role="img" aria-label={summary} data-testid={testId} data-points={xs.length} />;
}
