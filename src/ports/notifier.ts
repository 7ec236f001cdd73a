/** Tells people and systems about real status changes (webhooks, console). */

export interface NotificationEvent {
  /** Stable id so a receiver can drop duplicates: rollout id + step + attempt + type. */
  id: string;
  type: string;
  subject: { kind: string; name: string };
  time: string;
  data: Record<string, unknown>;
}

export interface Notifier {
  /**
   * Delivers one event. Safe to repeat: receivers deduplicate by `event.id`. Called only when a
   * status really changed, never on an unchanged pass.
   */
  notify(event: NotificationEvent): Promise<void>;
}
