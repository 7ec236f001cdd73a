/**
 * A confirmation dialog asking for a comment before a state-changing call; shows the server's
 * refusal (its problem detail) and stays open when refused. Native <dialog> (modal: focus stays
 * inside, Escape cancels); where showModal is missing (jsdom) it opens non-modally.
 */
import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError } from '../../../../src/client/index.js';
import { describeError } from '../../format.js';

export interface ActionDialogProps {
  title: string;
  children?: ReactNode;
  confirmLabel: string;
  commentLabel?: string;
  /** Runs the action; a rejection is shown in the dialog. */
  onConfirm(comment: string): Promise<unknown>;
  onClose(done: boolean): void;
}

/** The server's own words for a refusal: its problem detail (and the gates that refused, if any). */
export function refusalMessage(error: unknown): string {
  if (error instanceof ApiError) {
    const gates = (error.problem.gates ?? [])
      .filter((gate) => gate['outcome'] === 'deny' || gate['outcome'] === 'pending')
      .map((gate) => `${String(gate['name'])}: ${String(gate['message'])}`);
    return [`Refused (${error.status} ${error.problem.title}): ${error.problem.detail ?? error.problem.title}`, ...gates].join('\n');
  }
  return describeError(error);
}

export function ActionDialog({ title, children, confirmLabel, commentLabel = 'Comment (recorded with the decision)', onConfirm, onClose }: ActionDialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  const [comment, setComment] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (typeof dialog.showModal === 'function') dialog.showModal();
    else dialog.setAttribute('open', '');
    return () => {
      if (typeof dialog.close === 'function' && dialog.open) dialog.close();
    };
  }, []);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!comment.trim()) return setError('A comment is required.');
    setBusy(true);
    setError(null);
    onConfirm(comment.trim()).then(
      () => onClose(true),
      (cause: unknown) => {
        setBusy(false);
        setError(refusalMessage(cause));
      },
    );
  };

  return (
    <dialog ref={ref} className="rel-dialog" aria-labelledby={`${id}-title`} onCancel={(event) => (event.preventDefault(), onClose(false))}>
      <form onSubmit={submit}>
        <h2 id={`${id}-title`}>{title}</h2>
        {children}
        <div className="field">
          <label htmlFor={`${id}-comment`}>{commentLabel}</label>
          <textarea id={`${id}-comment`} rows={3} required value={comment} onChange={(event) => setComment(event.target.value)} />
        </div>
        {error && (
          <p className="notice notice-error rel-dialog-error" role="alert">
            {error}
          </p>
        )}
        <div className="rel-dialog-buttons">
          <button type="button" className="link-button" onClick={() => onClose(false)} disabled={busy}>
            Cancel
          </button>
          <button type="submit" disabled={busy}>
            {busy ? 'Recording…' : confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
