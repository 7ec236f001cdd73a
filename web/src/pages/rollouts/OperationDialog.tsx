/**
 * Confirmation for a rollout operation, with a reason: a native modal <dialog> (focus is kept
 * inside, Escape cancels). Shows the server's refusal (its problem detail) when the request fails.
 */
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { describeError } from '../../format.js';
import type { OperationChoice } from './derive.js';

export interface OperationDialogProps {
  deployment: string;
  operation: OperationChoice;
  /** Resolves when queued; rejects with the API's error. */
  onSubmit(reason: string): Promise<void>;
  onClose(): void;
}

export function OperationDialog({ deployment, operation, onSubmit, onClose }: OperationDialogProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const id = useId();

  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    // jsdom has no showModal; a real browser makes it modal (inert background, Escape closes).
    if (typeof element.showModal === 'function') {
      if (!element.open) element.showModal();
    } else element.setAttribute('open', '');
    return () => {
      if (typeof element.close === 'function' && element.open) element.close();
    };
  }, []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onSubmit(reason.trim());
    } catch (caught) {
      setError(describeError(caught));
      setBusy(false);
    }
  };

  return (
    <dialog ref={dialog} className="op-dialog" aria-labelledby={`${id}-title`} aria-describedby={`${id}-effect`} onCancel={(event) => (event.preventDefault(), onClose())}>
      <form onSubmit={submit}>
        <h2 id={`${id}-title`}>
          {operation.label} {deployment}?
        </h2>
        <p id={`${id}-effect`}>{operation.effect}</p>
        <div className="field">
          <label htmlFor={`${id}-reason`}>Reason</label>
          <textarea id={`${id}-reason`} rows={3} value={reason} onChange={(event) => setReason(event.target.value)} placeholder="Why (kept in the rollout's events and the audit log)" required autoFocus />
        </div>
        {error && (
          <p className="notice notice-error" role="alert">
            {error}
          </p>
        )}
        <div className="op-dialog-buttons">
          <button type="button" className="secondary" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className={operation.danger ? 'danger' : undefined} disabled={busy || reason.trim() === ''}>
            {busy ? 'Sending…' : `Confirm ${operation.label.toLowerCase()}`}
          </button>
        </div>
      </form>
    </dialog>
  );
}
