/**
 * Approve / reject a change: the buttons (only when `decisionAccess` allows), a confirmation
 * dialog asking for a comment, and the server's refusal (ApiError's problem detail) in the dialog
 * when it refuses anyway — e.g. separation of duties, or group membership changed since sign-in.
 */
import { useEffect, useRef, useState } from 'react';
import { ApiError } from '../../../../src/client/index.js';
import { ConfirmDialog, type Refusal } from '../../components/ConfirmDialog.js';
import { describeError } from '../../format.js';
import { useSession } from '../../session.js';
import type { DecisionAccess } from './derive.js';

type Decision = 'approve' | 'reject';

/** The refusal as a person reads it: the server's own sentence first, the request after. */
export function refusalMessage(error: unknown): Refusal {
  if (error instanceof ApiError) {
    const text = error.problem.detail || error.problem.title;
    const kind = error.status === 403 ? 'The server refused' : error.status === 409 ? 'Not possible now' : 'The decision failed';
    return { headline: `${kind}: ${text}`, details: [`${error.request} answered ${error.status} ${error.problem.title}`] };
  }
  return { headline: `The decision failed: ${describeError(error)}` };
}

export interface DecideButtonsProps {
  change: string;
  title: string;
  access: DecisionAccess;
  /** Called after the server recorded the decision (the page reloads). */
  onDecided?: (decision: Decision) => void;
}

export function DecideButtons({ change, title, access, onDecided }: DecideButtonsProps) {
  const { client } = useSession();
  const [open, setOpen] = useState<Decision | null>(null);
  const [done, setDone] = useState<string | null>(null);

  if (!access.approve && !access.reject) {
    return (
      <div className="decide">
        {done && <Done text={done} />}
        {access.reason && <p className="muted decide-reason">{access.reason}</p>}
      </div>
    );
  }

  const ask = (decision: Decision) => {
    setDone(null);
    setOpen(decision);
  };

  return (
    <div className="decide">
      <div className="decide-buttons">
        {access.approve && (
          <button type="button" onClick={() => ask('approve')} aria-label={`Approve ${change}`}>
            Approve
          </button>
        )}
        {access.reject && (
          <button type="button" className="danger" onClick={() => ask('reject')} aria-label={`Reject ${change}`}>
            Reject
          </button>
        )}
      </div>
      {done && <Done text={done} />}
      {open && (
        <ConfirmDialog
          title={`${open === 'approve' ? 'Approve' : 'Reject'} ${change}?`}
          description={
            <p>
              {title}
              <br />
              <span className="muted small">
                {open === 'approve'
                  ? 'Your approval is recorded with your name, groups and comment; it expires if the change is edited.'
                  : 'A rejection sends the change back to New; the requester sees your comment.'}
              </span>
            </p>
          }
          fieldLabel="Comment (required)"
          requiredMessage="Say why: the comment is kept in the change’s record and the audit log."
          confirmLabel={`Confirm ${open}`}
          pendingLabel={open === 'approve' ? 'Approving…' : 'Rejecting…'}
          danger={open === 'reject'}
          describeRefusal={refusalMessage}
          onConfirm={(comment) => (open === 'approve' ? client.changes.approve(change, comment) : client.changes.reject(change, comment))}
          onClose={(confirmed) => {
            setOpen(null);
            if (!confirmed) return;
            setDone(open === 'approve' ? `You approved ${change}.` : `You rejected ${change}.`);
            onDecided?.(open);
          }}
        />
      )}
    </div>
  );
}

/** Focus moves to the outcome (the dialog that had it is gone, and the buttons may be too). */
function Done({ text }: { text: string }) {
  const ref = useRef<HTMLParagraphElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <p ref={ref} tabIndex={-1} className="decide-done" role="status">
      {text}
    </p>
  );
}
