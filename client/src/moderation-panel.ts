import type { Socket } from 'socket.io-client';
import type { ChatMessage } from '../../server/audience/audience-protocol.js';
import type { ModeratedChatMessage, ModerationState, ViewerBan, ViewerMute } from '../../server/audience/moderation-protocol.js';
import { byTestId } from './page-elements.js';

type Ack = { ok: true; [key: string]: unknown } | { ok: false; error: { code: string; message: string } };

/**
 * Chat moderation on the operator console, over `/operator`: remove / mute / ban buttons on every
 * message row of the chat panel, and the lists of banned and muted viewers with unban / unmute.
 * Viewers never learn each other's viewer ids; this panel gets them from `watch-moderation`.
 */
export class ModerationPanel {
  /** Message id → the message with its author's viewer id. */
  private readonly authors = new Map<string, ModeratedChatMessage>();
  private readonly bannedList = byTestId<HTMLUListElement>('banned-list');
  private readonly mutedList = byTestId<HTMLUListElement>('muted-list');
  private readonly muteSeconds = byTestId<HTMLSelectElement>('mute-seconds');
  private readonly reasonInput = byTestId<HTMLInputElement>('moderation-reason');
  private readonly errorElement = byTestId('moderation-error');
  private state: ModerationState = { bans: [], mutes: [] };

  constructor(
    private readonly socket: Socket,
    private readonly streamId: string,
  ) {
    socket.on('chat', (message: ModeratedChatMessage & { streamId: string }) => message.streamId === streamId && this.authors.set(message.id, message));
    socket.on('moderation', (update: ModerationState & { streamId: string }) => update.streamId === streamId && this.render(update));
    // After a reconnect the server has forgotten the room: follow again.
    socket.io.on('reconnect', () => void this.load());
    // Mutes run out on their own: drop them from the list when they do.
    window.setInterval(() => {
      if (this.state.mutes.some((mute) => mute.until <= Date.now())) this.render(this.state);
    }, 1000);
  }

  async load(): Promise<void> {
    const ack = await this.ask('watch-moderation', { streamId: this.streamId });
    if (!ack.ok) return;
    for (const message of ack.chat as ModeratedChatMessage[]) this.authors.set(message.id, message);
    this.render(ack as unknown as ModerationState);
  }

  /** Adds the moderation buttons to one row of the chat panel. */
  readonly decorate = (item: HTMLLIElement, message: ChatMessage): void => {
    const actions = document.createElement('span');
    actions.className = 'chat-actions';
    actions.append(
      this.button('chat-remove', 'Remove', 'remove this message for everyone', () => this.ask('remove-chat', { streamId: this.streamId, messageId: message.id, ...this.reason() })),
      this.button('chat-mute', 'Mute', 'mute the author for the time chosen above', () =>
        this.onAuthor(message, (viewerId) => this.ask('mute-viewer', { streamId: this.streamId, viewerId, seconds: Number(this.muteSeconds.value), ...this.reason() })),
      ),
      this.button('chat-ban', 'Ban', 'remove the author from this chat', () => this.onAuthor(message, (viewerId) => this.ask('ban-viewer', { streamId: this.streamId, viewerId, ...this.reason() }))),
    );
    item.append(actions);
  };

  private async onAuthor(message: ChatMessage, act: (viewerId: string) => Promise<Ack>): Promise<Ack | undefined> {
    const author = this.authors.get(message.id);
    if (!author) {
      this.showError(`The author of “${message.text.slice(0, 40)}” is not known to this console yet; try again in a moment.`);
      return undefined;
    }
    return act(author.viewerId);
  }

  private reason(): { reason?: string } {
    const reason = this.reasonInput.value.trim();
    return reason === '' ? {} : { reason };
  }

  private button(testId: string, label: string, title: string, onClick: () => Promise<unknown>): HTMLButtonElement {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'link';
    button.dataset.testid = testId;
    button.textContent = label;
    button.title = title;
    button.addEventListener('click', () => void onClick());
    return button;
  }

  private render({ bans, mutes: allMutes }: ModerationState): void {
    const mutes = allMutes.filter((mute) => mute.until > Date.now());
    this.state = { bans, mutes };
    const row = (testId: string, viewer: ViewerBan | ViewerMute, detail: string, undoTestId: string, undoLabel: string, undo: string): HTMLLIElement => {
      const item = document.createElement('li');
      item.dataset.testid = testId;
      item.dataset.viewerId = viewer.viewerId;
      const name = document.createElement('strong');
      name.textContent = viewer.user ?? viewer.viewerId.slice(0, 8);
      const info = document.createElement('span');
      info.className = 'muted';
      info.textContent = ` ${detail}${viewer.reason ? ` · ${viewer.reason}` : ''} · by ${viewer.by} `;
      item.append(name, info, this.button(undoTestId, undoLabel, `${undoLabel.toLowerCase()} this viewer`, () => this.ask(undo, { streamId: this.streamId, viewerId: viewer.viewerId })));
      return item;
    };
    this.bannedList.replaceChildren(...bans.map((ban) => row('banned-viewer', ban, `since ${new Date(ban.at).toLocaleTimeString()}`, 'unban', 'Unban', 'unban-viewer')));
    this.mutedList.replaceChildren(...mutes.map((mute) => row('muted-viewer', mute, `until ${new Date(mute.until).toLocaleTimeString()}`, 'unmute', 'Unmute', 'unmute-viewer')));
  }

  /** Emits with an ack; a refusal is shown in the panel, a success clears the last refusal. */
  private async ask(event: string, message: unknown): Promise<Ack> {
    const ack = (await this.socket
      .timeout(5000)
      .emitWithAck(event, message)
      .catch(() => ({ ok: false, error: { code: 'timeout', message: 'the server did not answer' } }))) as Ack;
    if (ack.ok) this.showError('');
    else this.showError(ack.error.message);
    return ack;
  }

  private showError(message: string): void {
    this.errorElement.textContent = message;
    this.errorElement.hidden = message === '';
  }
}
