/** Reading and verifying the audit log. */
import type { AuditVerifyResult } from '../../core/api.js';
import { GENESIS_HASH, verifyChain, type ChainedAuditEvent } from '../../core/audit/chain.js';
import type { AuditQuery, Stores } from '../../ports/store.js';

type Reader = Pick<Stores, 'audit'>;

const VERIFY_PAGE = 1000;

export function createAuditService() {
  return {
    /**
     * One page, ascending by seq (or descending with `order: 'desc'`). `nextCursor` is the page's
     * last seq: pass it back as `afterSeq` (ascending) or `beforeSeq` (descending) for the next page.
     */
    async page(stores: Reader, query: AuditQuery & { limit: number }): Promise<{ items: ChainedAuditEvent[]; nextCursor: string | null }> {
      // One extra row tells whether another page exists without a second query.
      const rows = await stores.audit.list({ ...query, limit: query.limit + 1 });
      const items = rows.slice(0, query.limit);
      return { items, nextCursor: rows.length > query.limit ? String(items[items.length - 1]!.seq) : null };
    },

    /**
     * Walks the whole chain page by page, each page continuing from the previous page's last
     * hash and seq, so memory stays flat however long the log is.
     */
    async verify(stores: Reader, pageSize = VERIFY_PAGE): Promise<AuditVerifyResult> {
      let prevHash = GENESIS_HASH;
      let expectedSeq = 1;
      let checked = 0;
      for (;;) {
        const page = await stores.audit.list({ afterSeq: expectedSeq - 1, limit: pageSize });
        const verdict = verifyChain(page, prevHash, expectedSeq);
        checked += verdict.checked;
        if (!verdict.ok) return { ok: false, checked, brokenAt: verdict.brokenAt, reason: verdict.reason };
        if (page.length === 0) return { ok: true, checked, headHash: prevHash };
        prevHash = verdict.headHash;
        expectedSeq += page.length;
        if (page.length < pageSize) return { ok: true, checked, headHash: prevHash };
      }
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
