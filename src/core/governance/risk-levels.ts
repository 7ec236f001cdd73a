/**
 * The risk levels, lowest first. Their own file because risk.ts compiles CEL rules
 * (@bufbuild/cel): the status schemas (records.ts), approvals and the resource specs only need
 * the names, and the web UI bundles those. risk.ts re-exports them.
 */
export const RISK_LEVELS = ['low', 'medium', 'high', 'critical'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];
