/**
 * The one confirmation dialog for state-changing calls (approve / reject a change, GO / NO-GO and
 * scope exceptions of a release, rollout operations): a title and what confirming does (its
 * accessible name and description), a required text field (comment or reason, recorded by the
 * server), Cancel and Confirm.
 *
 * - A native modal <dialog> (`showModal`: the page behind is inert, Escape cancels). Where
 *   `showModal` is missing (jsdom, old browsers) it opens in place as `aria-modal` and keeps Tab
 *   inside and Escape working itself.
 * - Focus moves into the field on open and back to what had it (the opener) on close.
 * - An empty field is refused with a message under it (or, with `disableUntilFilled`, the
 *   confirm button stays disabled until there is text). Confirm and Cancel are disabled while the
 *   call is pending.
 * - When the call fails, the dialog stays open and shows the server's refusal (its problem detail)
 *   inside, as `role="alert"`, and moves focus to it.
 */
import { useEffect, useId, useLayoutEffect, useRef, useState, type FormEvent, type KeyboardEvent, type ReactNode, type SyntheticEvent } from 'react';
import { ApiError } from '../../../src/client/index.js';
import { describeError } from '../format.js';

/** A refusal as shown in the dialog: one sentence, then any further lines (gates, the request). */
export interface Refusal {
  headline: string;
  details?: readonly string[];
}

export interface ConfirmDialogProps {
  /** The heading, which is the dialog's accessible name. */
  title: ReactNode;
  /** What confirming does: the dialog's accessible description. */
  description?: ReactNode;
  /** The text field's label. */
  fieldLabel?: string;
  placeholder?: string;
  /** Shown under the field when confirming with it empty. */
  requiredMessage?: string;
  /** Keep the confirm button disabled while the field is empty (instead of explaining on confirm). */
  disableUntilFilled?: boolean;
  confirmLabel: string;
  /** The confirm button's text while the call is pending. */
  pendingLabel?: string;
  /** The confirm button as a dangerous action (red). */
  danger?: boolean;
  /** Runs the call with the trimmed text; a rejection is shown in the dialog, which stays open. */
  onConfirm(text: string): Promise<unknown>;
  /** The dialog is done: `true` after `onConfirm` resolved, `false` when cancelled. The parent unmounts it. */
  onClose(confirmed: boolean): void;
  /** How a failure reads; by default the server's problem detail and the gates that refused. */
  describeRefusal?(error: unknown): Refusal | string;
}

/** The server's own words for a refusal: its problem detail, and the gates that refused, if any. */
export function serverRefusal(error: unknown): Refusal {
  if (error instanceof ApiError) {
    const gates = (error.problem.gates ?? [])
      .filter((gate) => gate['outcome'] === 'deny' || gate['outcome'] === 'pending')
      .map((gate) => `${String(gate['name'])}: ${String(gate['message'])}`);
    return { headline: `Refused (${error.status} ${error.problem.title}): ${error.problem.detail ?? error.problem.title}`, details: gates };
  }
  return { headline: describeError(error) };
}

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** jsdom (and browsers before 2022) have no modal <dialog>. */
const hasNativeModal = () => typeof HTMLDialogElement === 'function' && typeof HTMLDialogElement.prototype.showModal === 'function';

export function ConfirmDialog({
  title,
  description,
  fieldLabel = 'Reason (required)',
  placeholder,
  requiredMessage = 'Say why: the text is recorded with the action.',
  disableUntilFilled = false,
  confirmLabel,
  pendingLabel = 'Sending…',
  danger = false,
  onConfirm,
  onClose,
  describeRefusal = serverRefusal,
}: ConfirmDialogProps) {
  const id = useId();
  const dialog = useRef<HTMLDialogElement>(null);
  const field = useRef<HTMLTextAreaElement>(null);
  const alert = useRef<HTMLDivElement>(null);
  /** Unmounted or already closed: late answers and events change nothing. */
  const finished = useRef(false);
  const [native] = useState(hasNativeModal);
  const [text, setText] = useState('');
  const [pending, setPending] = useState(false);
  const [touched, setTouched] = useState(false);
  const [refusal, setRefusal] = useState<Refusal | null>(null);
  const empty = text.trim() === '';
  const invalid = touched && empty && !disableUntilFilled;

  // Open (modal where possible) and focus the field; on close, focus goes back to the opener.
  useLayoutEffect(() => {
    const element = dialog.current;
    if (!element) return;
    finished.current = false;
    const opener = document.activeElement instanceof HTMLElement && document.activeElement !== document.body ? document.activeElement : null;
    if (native && !element.open) element.showModal();
    field.current?.focus();
    return () => {
      finished.current = true;
      const focusInside = element.contains(document.activeElement) || document.activeElement === document.body || document.activeElement === null;
      if (native && element.open) element.close();
      if (opener?.isConnected && focusInside) opener.focus();
    };
  }, [native]);

  useEffect(() => {
    if (refusal) alert.current?.focus();
  }, [refusal]);

  const close = (confirmed: boolean) => {
    if (finished.current) return;
    finished.current = true;
    onClose(confirmed);
  };
  const cancel = () => {
    if (!pending) close(false);
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (pending) return;
    const value = text.trim();
    if (value === '') {
      setTouched(true);
      field.current?.focus();
      return;
    }
    setPending(true);
    setRefusal(null);
    onConfirm(value).then(
      () => close(true),
      (error: unknown) => {
        if (finished.current) return;
        const described = describeRefusal(error);
        setRefusal(typeof described === 'string' ? { headline: described } : described);
        setPending(false);
      },
    );
  };

  const onKeyDown = (event: KeyboardEvent<HTMLDialogElement>) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      cancel();
      return;
    }
    if (event.key !== 'Tab' || !dialog.current) return;
    const focusable = [...dialog.current.querySelectorAll<HTMLElement>(FOCUSABLE)];
    const first = focusable[0];
    const last = focusable.at(-1);
    const inside = dialog.current.contains(document.activeElement);
    if (event.shiftKey && (document.activeElement === first || !inside)) {
      event.preventDefault();
      last?.focus();
    } else if (!event.shiftKey && (document.activeElement === last || !inside)) {
      event.preventDefault();
      first?.focus();
    }
  };

  /** The browser's own close request (Escape, a back gesture): ours to decide. */
  const onCancelRequest = (event: SyntheticEvent<HTMLDialogElement>) => {
    event.preventDefault();
    cancel();
  };
  /** The browser closed it anyway (a repeated close request may not be refused): treat as cancel. */
  const onNativeClose = () => {
    if (!dialog.current?.open) close(false);
  };

  const described = description !== undefined && description !== null;
  return (
    <dialog
      ref={dialog}
      className="confirm-dialog"
      open={native ? undefined : true}
      aria-modal={native ? undefined : true}
      aria-labelledby={`${id}-title`}
      aria-describedby={described ? `${id}-description` : undefined}
      onKeyDown={onKeyDown}
      onCancel={onCancelRequest}
      onClose={onNativeClose}
    >
      <form noValidate onSubmit={submit}>
        <h2 id={`${id}-title`} className="confirm-dialog-title">
          {title}
        </h2>
        {described &&
          (typeof description === 'string' ? (
            <p id={`${id}-description`}>{description}</p>
          ) : (
            <div id={`${id}-description`} className="confirm-dialog-description">
              {description}
            </div>
          ))}
        <div className="field">
          <label htmlFor={`${id}-text`}>{fieldLabel}</label>
          <textarea
            id={`${id}-text`}
            ref={field}
            rows={3}
            required
            placeholder={placeholder}
            aria-invalid={invalid || undefined}
            aria-describedby={invalid ? `${id}-required` : undefined}
            value={text}
            onChange={(event) => setText(event.target.value)}
          />
          {invalid && (
            <p id={`${id}-required`} className="field-error">
              {requiredMessage}
            </p>
          )}
        </div>
        {refusal && (
          <div ref={alert} tabIndex={-1} className="notice notice-error confirm-dialog-refusal" role="alert">
            <p>{refusal.headline}</p>
            {refusal.details?.map((line, index) => (
              <p key={index} className="small">
                {line}
              </p>
            ))}
          </div>
        )}
        <div className="confirm-dialog-buttons">
          <button type="button" className="secondary" onClick={cancel} disabled={pending}>
            Cancel
          </button>
          <button type="submit" className={danger ? 'danger' : undefined} disabled={pending || (disableUntilFilled && empty)}>
            {pending ? pendingLabel : confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
