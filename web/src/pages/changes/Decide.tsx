/**
 * Approve / reject a change: the buttons (only when `decisionAccess` allows), a modal asking for a
 * comment and confirmation, and the server's refusal (ApiError's problem detail) when it refuses
 * anyway — e.g. separation of duties, or group membership changed since sign-in.
 */
import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { ApiError } from '../../../../src/client/index.js';
import { describeError } from '../../format.js';
import { useSession } from '../../session.js';
import type { DecisionAccess } from './derive.js';

type Decision = 'approve' | 'reject';

/** The refusal as a person reads it: the server's own sentence first, the request after. */
export function refusalMessage(error: unknown): { headline: string; detail: string } {
  if (error instanceof ApiError) {
    const text = error.problem.detail || error.problem.title;
    const kind = error.status === 403 ? 'The server refused' : error.status === 409 ? 'Not possible now' : 'The decision failed';
    return { headline: `${kind}: ${text}`, detail: `${error.request} answered ${error.status} ${error.problem.title}` };
  }
  return { headline: `The decision failed: ${describeError(error)}`, detail: '' };
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
  const [refusal, setRefusal] = useState<{ headline: string; detail: string } | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const openers = useRef<Record<Decision, HTMLButtonElement | null>>({ approve: null, reject: null });

  if (!access.approve && !access.reject) {
    return (
      <div className="decide">
        {done && <Done text={done} />}
        {access.reason && <p className="muted decide-reason">{access.reason}</p>}
        {refusal && <Refusal key={refusal.headline} refusal={refusal} />}
      </div>
    );
  }

  const submit = async (decision: Decision, comment: string) => {
    setRefusal(null);
    setDone(null);
    try {
      await (decision === 'approve' ? client.changes.approve(change, comment) : client.changes.reject(change, comment));
      setOpen(null);
      setDone(decision === 'approve' ? `You approved ${change}.` : `You rejected ${change}.`);
      onDecided?.(decision);
    } catch (error) {
      setOpen(null);
      setRefusal(refusalMessage(error));
    }
  };

  return (
    <div className="decide">
      <div className="decide-buttons">
        {access.approve && (
          <button type="button" ref={(el) => void (openers.current.approve = el)} onClick={() => setOpen('approve')} aria-label={`Approve ${change}`}>
            Approve
          </button>
        )}
        {access.reject && (
          <button type="button" className="danger" ref={(el) => void (openers.current.reject = el)} onClick={() => setOpen('reject')} aria-label={`Reject ${change}`}>
            Reject
          </button>
        )}
      </div>
      {done && <Done text={done} />}
      {refusal && <Refusal key={refusal.headline} refusal={refusal} />}
      {open && (
        <DecisionDialog
          change={change}
          title={title}
          decision={open}
          onCancel={() => {
            const opener = openers.current[open];
            setOpen(null);
            opener?.focus();
          }}
          onConfirm={(comment) => submit(open, comment)}
        />
      )}
    </div>
  );
}

/** Focus moves to the outcome (the dialog that had it is gone, and the buttons may be too). */
function useFocusOnMount<T extends HTMLElement>() {
  const ref = useRef<T>(null);
  useEffect(() => ref.current?.focus(), []);
  return ref;
}

function Done({ text }: { text: string }) {
  const ref = useFocusOnMount<HTMLParagraphElement>();
  return (
    <p ref={ref} tabIndex={-1} className="decide-done" role="status">
      {text}
    </p>
  );
}

function Refusal({ refusal }: { refusal: { headline: string; detail: string } }) {
  const ref = useFocusOnMount<HTMLDivElement>();
  return (
    <div ref={ref} tabIndex={-1} className="notice notice-error decide-refusal" role="alert">
      <p>{refusal.headline}</p>
      {refusal.detail && <p className="muted small">{refusal.detail}</p>}
    </div>
  );
}

interface DecisionDialogProps {
  change: string;
  title: string;
  decision: Decision;
  onCancel(): void;
  onConfirm(comment: string): Promise<void>;
}

/** An accessible modal: focus moves in, Tab stays in, Escape cancels; the comment is required. */
export function DecisionDialog({ change, title, decision, onCancel, onConfirm }: DecisionDialogProps) {
  const id = useId();
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const [touched, setTouched] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  const field = useRef<HTMLTextAreaElement>(null);
  useEffect(() => field.current?.focus(), []);

  const verb = decision === 'approve' ? 'Approve' : 'Reject';
  const empty = comment.trim() === '';

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      if (!busy) onCancel();
      return;
    }
    if (event.key !== 'Tab' || !box.current) return;
    const focusable = [...box.current.querySelectorAll<HTMLElement>('textarea, button:not([disabled])')];
    const first = focusable[0];
    const last = focusable.at(-1);
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last?.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first?.focus();
    }
  };

  return (
    <div className="modal-backdrop">
      <div ref={box} className="modal" role="dialog" aria-modal="true" aria-labelledby={`${id}-title`} aria-describedby={`${id}-what`} onKeyDown={onKeyDown}>
        <h2 id={`${id}-title`}>
          {verb} {change}?
        </h2>
        <p id={`${id}-what`}>
          {title}
          <br />
          <span className="muted small">
            {decision === 'approve'
              ? 'Your approval is recorded with your name, groups and comment; it expires if the change is edited.'
              : 'A rejection sends the change back to New; the requester sees your comment.'}
          </span>
        </p>
        <form
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            setTouched(true);
            if (empty || busy) return;
            setBusy(true);
            void onConfirm(comment.trim()).finally(() => setBusy(false));
          }}
        >
          <div className="field">
            <label htmlFor={`${id}-comment`}>Comment (required)</label>
            <textarea
              id={`${id}-comment`}
              ref={field}
              rows={4}
              required
              aria-invalid={touched && empty}
              aria-describedby={touched && empty ? `${id}-error` : undefined}
              value={comment}
              onChange={(event) => setComment(event.target.value)}
            />
            {touched && empty && (
              <p id={`${id}-error`} className="field-error">
                Say why: the comment is kept in the change’s record and the audit log.
              </p>
            )}
          </div>
          <div className="modal-actions">
            <button type="button" className="secondary" onClick={onCancel} disabled={busy}>
              Cancel
            </button>
            <button type="submit" className={decision === 'reject' ? 'danger' : undefined} disabled={busy}>
              {busy ? `${verb === 'Approve' ? 'Approving' : 'Rejecting'}…` : `Confirm ${decision}`}
            </button>
          </div>
        </form>
      </div>
    </div>
  );
}
