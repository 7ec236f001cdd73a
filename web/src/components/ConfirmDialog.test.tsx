// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../../src/client/index.js';
import { ConfirmDialog, serverRefusal, type ConfirmDialogProps } from './ConfirmDialog.js';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

/** A page with the button that opens the dialog, as the pages use it. */
function Opener(props: Partial<ConfirmDialogProps> & { onClosed?: (confirmed: boolean) => void }) {
  const [open, setOpen] = useState(false);
  const { onClosed, ...rest } = props;
  return (
    <div>
      <button type="button" onClick={() => setOpen(true)}>
        Abort shop-2…
      </button>
      <p>Something else on the page</p>
      {open && (
        <ConfirmDialog
          title="Abort shop-2?"
          description="The stable version serves all traffic again."
          confirmLabel="Confirm abort"
          onConfirm={async () => undefined}
          {...rest}
          onClose={(confirmed) => {
            setOpen(false);
            onClosed?.(confirmed);
          }}
        />
      )}
    </div>
  );
}

async function open(props: Parameters<typeof Opener>[0] = {}) {
  render(<Opener {...props} />);
  const opener = screen.getByRole('button', { name: 'Abort shop-2…' });
  await userEvent.click(opener);
  return { opener, dialog: screen.getByRole('dialog', { name: 'Abort shop-2?' }) };
}

/** A promise the test settles. */
function deferred() {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const forbidden = (detail: string, gates?: Array<Record<string, unknown>>) =>
  new ApiError(403, { type: 'https://rollgate.dev/problems/forbidden', title: 'Forbidden', status: 403, detail, ...(gates ? { gates } : {}) }, 'POST /api/v1/releases/r/go-no-go');

describe('ConfirmDialog', () => {
  it('is a modal dialog named by its title, described by what it does, with focus in the labelled field', async () => {
    const { dialog } = await open({ fieldLabel: 'Comment (required)' });
    expect(dialog.getAttribute('aria-modal')).toBe('true'); // jsdom has no showModal: the in-place fallback
    expect(document.getElementById(dialog.getAttribute('aria-describedby')!)!.textContent).toBe('The stable version serves all traffic again.');
    const field = within(dialog).getByLabelText('Comment (required)');
    expect(document.activeElement).toBe(field);
    expect(field.hasAttribute('required')).toBe(true);
    expect(within(dialog).getByRole('button', { name: 'Cancel' })).toBeTruthy();
  });

  it('refuses an empty field with a message under it and does not call onConfirm', async () => {
    const onConfirm = vi.fn(async () => undefined);
    const { dialog } = await open({ onConfirm, requiredMessage: 'Say why: it goes into the audit log.' });
    await userEvent.type(within(dialog).getByLabelText('Reason (required)'), '   ');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Confirm abort' }));
    const field = within(dialog).getByLabelText('Reason (required)');
    expect(field.getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById(field.getAttribute('aria-describedby')!)!.textContent).toBe('Say why: it goes into the audit log.');
    expect(document.activeElement).toBe(field);
    expect(onConfirm).not.toHaveBeenCalled();
    await userEvent.type(field, 'p99 doubled');
    expect(field.hasAttribute('aria-invalid')).toBe(false);
  });

  it('can keep the confirm button disabled until the field has text', async () => {
    const { dialog } = await open({ disableUntilFilled: true });
    const confirm = within(dialog).getByRole('button', { name: 'Confirm abort' }) as HTMLButtonElement;
    expect(confirm.disabled).toBe(true);
    await userEvent.type(within(dialog).getByLabelText('Reason (required)'), 'x');
    expect(confirm.disabled).toBe(false);
  });

  it('sends the trimmed text, disables both buttons while pending, and closes confirmed', async () => {
    const call = deferred();
    const onConfirm = vi.fn(() => call.promise);
    const onClosed = vi.fn();
    const { dialog } = await open({ onConfirm, onClosed, pendingLabel: 'Aborting…', danger: true });
    await userEvent.type(within(dialog).getByLabelText('Reason (required)'), '  p99 doubled  ');
    expect(within(dialog).getByRole('button', { name: 'Confirm abort' }).className).toBe('danger');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Confirm abort' }));
    expect(onConfirm).toHaveBeenCalledWith('p99 doubled');
    expect((within(dialog).getByRole('button', { name: 'Aborting…' }) as HTMLButtonElement).disabled).toBe(true);
    expect((within(dialog).getByRole('button', { name: 'Cancel' }) as HTMLButtonElement).disabled).toBe(true);
    // Escape does not cancel a call on its way.
    fireEvent.keyDown(dialog, { key: 'Escape' });
    expect(screen.getByRole('dialog')).toBe(dialog);
    await act(async () => call.resolve());
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(onClosed).toHaveBeenCalledWith(true);
    expect(onClosed).toHaveBeenCalledTimes(1);
  });

  it("shows the server's refusal inside the dialog as an alert, with the gates that refused, and stays open", async () => {
    const onConfirm = vi.fn(async () => {
      throw forbidden('a no-go decision needs membership of group "release-managers"', [
        { gate: 'goNoGo', name: 'load-test', outcome: 'pending', message: 'no result yet' },
        { gate: 'digest', name: 'dev', outcome: 'pass', message: 'fine' },
      ]);
    });
    const onClosed = vi.fn();
    const { dialog } = await open({ onConfirm, onClosed });
    await userEvent.type(within(dialog).getByLabelText('Reason (required)'), 'not yet');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Confirm abort' }));
    const alert = await within(dialog).findByRole('alert');
    expect([...alert.querySelectorAll('p')].map((p) => p.textContent)).toEqual(['Refused (403 Forbidden): a no-go decision needs membership of group "release-managers"', 'load-test: no result yet']);
    expect(document.activeElement).toBe(alert);
    expect(onClosed).not.toHaveBeenCalled();
    // Trying again clears the old refusal first; the field keeps its text.
    expect((within(dialog).getByLabelText('Reason (required)') as HTMLTextAreaElement).value).toBe('not yet');
    expect((within(dialog).getByRole('button', { name: 'Confirm abort' }) as HTMLButtonElement).disabled).toBe(false);
    await userEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(onClosed).toHaveBeenCalledWith(false);
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('words a refusal the way the page asks', async () => {
    const { dialog } = await open({
      onConfirm: async () => Promise.reject(new Error('boom')),
      describeRefusal: (error) => ({ headline: `The decision failed: ${(error as Error).message}`, details: ['try again later'] }),
    });
    await userEvent.type(within(dialog).getByLabelText('Reason (required)'), 'x');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Confirm abort' }));
    expect((await within(dialog).findByRole('alert')).textContent).toBe('The decision failed: boomtry again later');
    expect(serverRefusal(new Error('plain')).headline).toBe('plain');
  });

  it('cancels with Escape and gives focus back to the button that opened it', async () => {
    const onClosed = vi.fn();
    const { opener } = await open({ onClosed });
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(onClosed).toHaveBeenCalledWith(false);
    expect(document.activeElement).toBe(opener);
  });

  it('keeps Tab inside the dialog', async () => {
    const { dialog } = await open();
    const field = within(dialog).getByLabelText('Reason (required)');
    const cancel = within(dialog).getByRole('button', { name: 'Cancel' });
    const confirm = within(dialog).getByRole('button', { name: 'Confirm abort' });
    await userEvent.tab();
    expect(document.activeElement).toBe(cancel);
    await userEvent.tab();
    expect(document.activeElement).toBe(confirm);
    await userEvent.tab();
    expect(document.activeElement).toBe(field);
    await userEvent.tab({ shift: true });
    expect(document.activeElement).toBe(confirm);
  });

  it("uses the browser's modal <dialog> where there is one: showModal on open, close on unmount, its cancel request cancels", async () => {
    const showModal = vi.fn(function (this: HTMLDialogElement) {
      this.setAttribute('open', '');
    });
    const close = vi.fn(function (this: HTMLDialogElement) {
      this.removeAttribute('open');
    });
    Object.defineProperty(HTMLDialogElement.prototype, 'showModal', { configurable: true, value: showModal });
    Object.defineProperty(HTMLDialogElement.prototype, 'close', { configurable: true, value: close });
    try {
      const onClosed = vi.fn();
      const { dialog, opener } = await open({ onClosed });
      expect(showModal).toHaveBeenCalledTimes(1);
      expect(dialog.hasAttribute('aria-modal')).toBe(false); // the browser makes it modal
      expect(document.activeElement).toBe(within(dialog).getByLabelText('Reason (required)'));
      const request = new Event('cancel', { cancelable: true });
      fireEvent(dialog, request);
      expect(request.defaultPrevented).toBe(true);
      expect(onClosed).toHaveBeenCalledWith(false);
      expect(screen.queryByRole('dialog')).toBeNull();
      expect(close).toHaveBeenCalledTimes(1);
      expect(document.activeElement).toBe(opener);
    } finally {
      delete (HTMLDialogElement.prototype as Partial<HTMLDialogElement>).showModal;
      delete (HTMLDialogElement.prototype as Partial<HTMLDialogElement>).close;
    }
  });

  it('treats the browser closing it anyway as a cancel', async () => {
    Object.defineProperty(HTMLDialogElement.prototype, 'showModal', { configurable: true, value: vi.fn(function (this: HTMLDialogElement) { this.setAttribute('open', ''); }) });
    Object.defineProperty(HTMLDialogElement.prototype, 'close', { configurable: true, value: vi.fn(function (this: HTMLDialogElement) { this.removeAttribute('open'); }) });
    try {
      const onClosed = vi.fn();
      const { dialog } = await open({ onClosed });
      dialog.removeAttribute('open');
      fireEvent(dialog, new Event('close'));
      expect(onClosed).toHaveBeenCalledWith(false);
      expect(onClosed).toHaveBeenCalledTimes(1);
    } finally {
      delete (HTMLDialogElement.prototype as Partial<HTMLDialogElement>).showModal;
      delete (HTMLDialogElement.prototype as Partial<HTMLDialogElement>).close;
    }
  });
});
