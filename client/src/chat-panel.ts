import type { Socket } from 'socket.io-client';
import {
  CHAT_NAME_MAX_CHARS,
  CHAT_TEXT_MAX_CHARS,
  REACTION_KINDS,
  VIEWER_ID_PATTERN,
  emptyReactionCounts,
  type AudienceError,
  type BannedNotice,
  type ChatMessage,
  type ChatRemoved,
  type MutedNotice,
  type ReactionCounts,
  type ReactionKind,
  type ReactionsUpdate,
} from '../../server/audience/audience-protocol.js';
import { readSetting, writeSetting } from './page-elements.js';
import { socketAuth } from './page-token.js';

export const REACTION_EMOJI: Record<ReactionKind, string> = { like: '👍', laugh: '😂', wow: '😮', clap: '👏', heart: '❤️' };

/**
 * A reaction's icon: an SVG the server serves (a browser without a colour emoji font, e.g. Debian's
 * Chromium, draws the emoji as empty boxes), with the emoji kept as visually hidden text for screen
 * readers and copying.
 */
function reactionIcon(kind: ReactionKind): DocumentFragment {
  const icon = document.createElement('img');
  icon.className = 'reaction-icon';
  icon.src = `/static/reactions/${kind}.svg`;
  icon.alt = '';
  const text = document.createElement('span');
  text.className = 'visually-hidden';
  text.textContent = REACTION_EMOJI[kind];
  const fragment = document.createDocumentFragment();
  fragment.append(icon, text);
  return fragment;
}

/** The page keeps this many messages; older ones leave the list (the server keeps its own history). */
const MAX_SHOWN_MESSAGES = 200;
/** Floating reactions drawn per kind and update at most, so a burst stays readable. */
const MAX_FLOATS_PER_UPDATE = 6;
const NAME_STORAGE_KEY = 'livefx.chatName';
const VIEWER_ID_STORAGE_KEY = 'livefx.viewerId';
/** A slow-down notice stays at least this long, even when the wait is shorter (reactions: ~100 ms), so it can be read. */
const MIN_NOTICE_MS = 1500;

type Reply = { ok: true; history?: ChatMessage[]; reactions?: ReactionCounts; message?: ChatMessage; maxTextChars?: number } | { ok: false; error: AudienceError };

/**
 * This browser's viewer id: random, remembered, sent in the `/audience` handshake (operators mute
 * and ban by it). getRandomValues works outside secure contexts too (a LAN address over http).
 */
function rememberedViewerId(): string {
  const remembered = readSetting(VIEWER_ID_STORAGE_KEY);
  if (remembered && VIEWER_ID_PATTERN.test(remembered)) return remembered;
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const made = btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  writeSetting(VIEWER_ID_STORAGE_KEY, made);
  return made;
}

/** The element with this data-testid inside the panel (a panel without it is a bug). */
function part<T extends HTMLElement = HTMLElement>(root: HTMLElement, testId: string): T {
  const element = root.querySelector<T>(`[data-testid="${testId}"]`);
  if (!element) throw new Error(`chat panel has no [data-testid="${testId}"]`);
  return element;
}

export interface ChatPanelOptions {
  streamId: string;
  /** `viewer`: name prompt, input and reaction buttons; `read-only`: the publish and operator pages. */
  mode: 'viewer' | 'read-only';
  /** Where reactions float up (over the player); none: no floats. */
  floats?: HTMLElement;
  /** Called for each message row once made (the operator console adds its moderation buttons). */
  decorate?: (item: HTMLLIElement, message: ChatMessage) => void;
}

/**
 * The chat and reactions of one stream over `/audience`. Everything viewers wrote is shown with
 * textContent, never parsed as HTML. Reconnects join again and fill gaps from the history.
 */
export class ChatPanel {
  private readonly socket: Socket;
  private readonly messages: HTMLElement;
  private readonly errorElement: HTMLElement;
  /** One chip per reaction kind, made once and updated in place: a broadcast re-making them would pull them from under a reader. */
  private readonly countChips = new Map<ReactionKind, { chip: HTMLElement; count: Text }>();
  private readonly shownIds = new Set<string>();
  private totals: ReactionCounts = emptyReactionCounts();
  /** The last few seconds, from the latest broadcast (shown as each count's tooltip). */
  private recent: { counts: ReactionCounts; windowS: number } | undefined;
  /** Own reactions already floated on click, so the broadcast that counts them does not float them again. */
  private readonly ownUnconfirmed = emptyReactionCounts();
  private name: string | undefined;
  private ended = false;
  private banned = false;
  private errorTimer: number | undefined;

  constructor(
    private readonly root: HTMLElement,
    private readonly options: ChatPanelOptions,
  ) {
    this.messages = part(root, 'chat-messages');
    this.errorElement = part(root, 'chat-error');
    for (const kind of REACTION_KINDS) {
      const chip = document.createElement('span');
      chip.className = 'reaction-count';
      chip.dataset.kind = kind;
      const count = document.createTextNode('');
      chip.append(reactionIcon(kind), count);
      this.countChips.set(kind, { chip, count });
    }
    part(root, 'reaction-counts').replaceChildren(...[...this.countChips.values()].map(({ chip }) => chip));
    this.renderCounts();
    this.socket = io('/audience', { transports: ['websocket'], auth: { ...socketAuth().auth, viewerId: rememberedViewerId() } });
    this.socket.on('chat', (message: ChatMessage & { streamId: string }) => message.streamId === options.streamId && this.addMessage(message));
    this.socket.on('chat-removed', (removed: ChatRemoved) => removed.streamId === options.streamId && this.removeMessage(removed.messageId));
    this.socket.on('muted', (notice: MutedNotice) => notice.streamId === options.streamId && this.showMuted(notice.retryAfterMs, notice.reason));
    this.socket.on('unmuted', (notice: { streamId: string }) => notice.streamId === options.streamId && this.showError(''));
    this.socket.on('banned', (notice: BannedNotice) => notice.streamId === options.streamId && this.showBanned(`You were removed from this chat${notice.reason ? `: ${notice.reason}` : ''}.`));
    this.socket.on('reactions', (update: ReactionsUpdate) => update.streamId === options.streamId && this.updateReactions(update));
    // Every (re)connect: the server has forgotten this socket's rooms.
    this.socket.on('connect', () => void this.enter());
    if (options.mode === 'viewer') this.wireViewerControls();
  }

  /** The stream ended: nothing more can be said. */
  streamEnded(): void {
    this.ended = true;
    this.root.dataset.state = 'ended';
    for (const control of this.root.querySelectorAll<HTMLButtonElement | HTMLInputElement>('button, input')) control.disabled = true;
    this.showError('Chat is closed: the stream has ended.');
  }

  close(): void {
    this.socket.close();
  }

  /** An operator removed this viewer from the chat: nothing more is shown or sent here. */
  private showBanned(notice: string): void {
    this.banned = true;
    this.root.dataset.state = 'banned';
    for (const control of this.root.querySelectorAll<HTMLButtonElement | HTMLInputElement>('button, input')) control.disabled = true;
    for (const form of this.root.querySelectorAll('form')) form.hidden = true;
    this.messages.replaceChildren();
    this.shownIds.clear();
    this.showError(notice);
  }

  private showMuted(retryAfterMs: number, reason?: string): void {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    this.showError(`You are muted by an operator for ${seconds} s${reason ? ` (${reason})` : ''}: you can still watch and read.`, retryAfterMs);
  }

  private removeMessage(messageId: string): void {
    // The id stays in shownIds: a history replayed after a reconnect does not bring it back.
    this.messages.querySelector(`[data-id="${CSS.escape(messageId)}"]`)?.remove();
  }

  private wireViewerControls(): void {
    const nameInput = part<HTMLInputElement>(this.root, 'chat-name');
    const nameForm = nameInput.form!;
    const textInput = part<HTMLInputElement>(this.root, 'chat-input');
    const messageForm = textInput.form!;
    nameInput.maxLength = CHAT_NAME_MAX_CHARS;
    textInput.maxLength = CHAT_TEXT_MAX_CHARS;
    // The page leaves them disabled until the panel can handle them (a form sent before would reload the page).
    for (const control of [nameInput, textInput, part<HTMLButtonElement>(this.root, 'chat-join'), part<HTMLButtonElement>(this.root, 'chat-send')]) control.disabled = false;
    nameInput.value = readSetting(NAME_STORAGE_KEY) ?? '';
    this.setJoined(undefined);
    nameForm.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.join(nameInput.value);
    });
    messageForm.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.send(textInput);
    });
    part(this.root, 'chat-rename').addEventListener('click', () => {
      this.setJoined(undefined);
      nameInput.focus();
    });
    for (const kind of REACTION_KINDS) {
      part(this.root, `react-${kind}`).addEventListener('click', () => void this.react(kind));
    }
  }

  /** Joins the room: with the name when this viewer has one (remembered or just typed), read-only otherwise. */
  private async enter(): Promise<void> {
    if (this.banned) return;
    if (this.options.mode === 'viewer') {
      const remembered = this.name ?? readSetting(NAME_STORAGE_KEY) ?? '';
      if (remembered.trim() !== '') return this.join(remembered);
    }
    const reply = await this.ask('watch-chat', { streamId: this.options.streamId });
    if (reply) this.entered(reply);
  }

  private async join(name: string): Promise<void> {
    const reply = await this.ask('join', { streamId: this.options.streamId, name });
    if (!reply) return;
    if (!reply.ok) {
      this.setJoined(undefined);
      return this.refused(reply.error);
    }
    const trimmed = name.trim();
    writeSetting(NAME_STORAGE_KEY, trimmed);
    this.setJoined(trimmed);
    this.showError('');
    this.entered(reply);
  }

  private entered(reply: Reply): void {
    if (!reply.ok) return this.refused(reply.error);
    // The server's LIVEFX_CHAT_MAX_CHARS, so the box stops where the server would refuse.
    if (reply.maxTextChars && this.options.mode === 'viewer') part<HTMLInputElement>(this.root, 'chat-input').maxLength = reply.maxTextChars;
    for (const message of reply.history ?? []) this.addMessage(message);
    // Totals as they are now, without floating what happened before this page arrived.
    if (reply.reactions) {
      this.totals = reply.reactions;
      this.renderCounts();
    }
  }

  private async send(input: HTMLInputElement): Promise<void> {
    if (input.value.trim() === '') return;
    const reply = await this.ask('chat', { streamId: this.options.streamId, text: input.value });
    if (!reply) return;
    if (!reply.ok) return this.refused(reply.error, 'sending');
    input.value = '';
    if (reply.message) this.addMessage(reply.message);
    input.focus();
  }

  private async react(kind: ReactionKind): Promise<void> {
    const reply = await this.ask('react', { streamId: this.options.streamId, kind });
    if (!reply) return;
    if (!reply.ok) return this.refused(reply.error, 'reacting');
    this.ownUnconfirmed[kind]++;
    this.float(kind);
  }

  /** An ack, or undefined when the server did not answer (said in the panel). */
  private async ask(event: string, message: unknown): Promise<Reply | undefined> {
    try {
      return (await this.socket.timeout(5000).emitWithAck(event, message)) as Reply;
    } catch {
      this.showError('The chat server did not answer; retrying when the connection is back.');
      return undefined;
    }
  }

  private refused(error: AudienceError, action = 'sending'): void {
    if (error.code === 'stream_ended') return this.streamEnded();
    // The server says "you were removed from this chat by an operator (reason)" / "you are muted … for another 42 s".
    const sentence = `${error.message.charAt(0).toUpperCase()}${error.message.slice(1)}.`;
    if (error.code === 'banned') return this.showBanned(sentence);
    if (error.code === 'muted' && error.retryAfterMs !== undefined) return this.showError(sentence, Math.max(MIN_NOTICE_MS, error.retryAfterMs));
    if (error.code === 'rate_limited' && error.retryAfterMs !== undefined) {
      const seconds = Math.max(1, Math.ceil(error.retryAfterMs / 1000));
      this.showError(`Slow down: wait ${seconds} s before ${action} again.`, Math.max(MIN_NOTICE_MS, error.retryAfterMs));
      return;
    }
    if (error.code === 'not_joined') this.setJoined(undefined);
    // The server's message names the field ("join: name: must not be empty"); the event name is noise here.
    this.showError(error.message.replace(/^(join|chat|react|watch-chat): /, ''));
  }

  private setJoined(name: string | undefined): void {
    this.name = name;
    if (this.options.mode !== 'viewer' || this.banned) return;
    part(this.root, 'chat-name').closest('form')!.hidden = name !== undefined;
    part(this.root, 'chat-input').closest('form')!.hidden = name === undefined;
    const identity = part(this.root, 'chat-identity');
    identity.textContent = name ?? '';
    identity.closest('p')!.hidden = name === undefined;
    for (const kind of REACTION_KINDS) part<HTMLButtonElement>(this.root, `react-${kind}`).disabled = name === undefined || this.ended;
    this.root.dataset.joined = String(name !== undefined);
  }

  private addMessage(message: ChatMessage): void {
    if (this.shownIds.has(message.id)) return;
    this.shownIds.add(message.id);
    const stickToBottom = this.messages.scrollHeight - this.messages.scrollTop - this.messages.clientHeight < 40;
    const item = document.createElement('li');
    item.dataset.testid = 'chat-message';
    item.dataset.id = message.id;
    item.title = new Date(message.at).toLocaleTimeString();
    const user = document.createElement('span');
    user.className = 'chat-user';
    user.textContent = message.user;
    const text = document.createElement('span');
    text.className = 'chat-text';
    text.textContent = message.text;
    if (message.user === this.name) item.classList.add('own');
    item.append(user, text);
    this.options.decorate?.(item, message);
    // History and live messages may interleave after a reconnect: keep the list in time order.
    const later = [...this.messages.children].find((other) => Number((other as HTMLElement).dataset.at) > message.at);
    item.dataset.at = String(message.at);
    this.messages.insertBefore(item, later ?? null);
    while (this.messages.children.length > MAX_SHOWN_MESSAGES) {
      const oldest = this.messages.firstElementChild as HTMLElement;
      this.shownIds.delete(oldest.dataset.id ?? '');
      oldest.remove();
    }
    if (stickToBottom) this.messages.scrollTop = this.messages.scrollHeight;
  }

  private updateReactions({ totals, recent, windowS }: ReactionsUpdate): void {
    this.recent = { counts: recent, windowS };
    for (const kind of REACTION_KINDS) {
      let added = Math.max(0, totals[kind] - this.totals[kind]);
      const alreadyFloated = Math.min(added, this.ownUnconfirmed[kind]);
      this.ownUnconfirmed[kind] -= alreadyFloated;
      added -= alreadyFloated;
      for (let index = 0; index < Math.min(added, MAX_FLOATS_PER_UPDATE); index++) this.float(kind, index * 90);
    }
    this.totals = totals;
    this.renderCounts();
  }

  private renderCounts(): void {
    for (const [kind, { chip, count }] of this.countChips) {
      chip.title = this.recent ? `${kind}: ${this.recent.counts[kind]} in the last ${this.recent.windowS} s` : kind;
      count.data = ` ${this.totals[kind]}`;
    }
  }

  /** A reaction rises over the player and fades (CSS animation), then removes itself. */
  private float(kind: ReactionKind, delayMs = 0): void {
    const layer = this.options.floats;
    if (!layer) return;
    const bubble = document.createElement('span');
    bubble.className = 'reaction-float';
    bubble.dataset.kind = kind;
    bubble.append(reactionIcon(kind));
    bubble.style.left = `${10 + Math.random() * 80}%`;
    bubble.style.animationDelay = `${delayMs}ms`;
    bubble.addEventListener('animationend', () => bubble.remove());
    layer.append(bubble);
  }

  /** Shows a message in the panel; with hideAfterMs it clears itself (the slow-down notice). */
  private showError(message: string, hideAfterMs?: number): void {
    window.clearTimeout(this.errorTimer);
    this.errorElement.textContent = message;
    this.errorElement.hidden = message === '';
    if (hideAfterMs !== undefined && !this.ended) this.errorTimer = window.setTimeout(() => this.showError(''), hideAfterMs);
  }
}
