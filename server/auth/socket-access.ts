import type { Namespace, Server as SocketServer, Socket } from 'socket.io';
import { LivefxError } from '../../core/errors.js';
import type { Authenticator, Principal } from './access.js';
import type { TokenRecord } from './token-store.js';

/** The principal a socket authenticated as in its handshake (`auth: { token }`). */
export function principalOf(socket: Socket): Principal {
  return (socket.data as { principal?: Principal }).principal ?? { role: 'anonymous' };
}

/**
 * Authenticates every socket of the namespaces from the handshake's `auth.token` (or the `token`
 * query parameter). A bad token refuses the connection with a connect_error whose `data` is
 * `{ code, message }`; no token connects as anonymous and each event checks what it may do.
 * `admit` may refuse whole namespaces (the operator console needs an operator token).
 * Sockets of a token that is revoked later are disconnected at once. Returns the stop of the sweep
 * that finds revocations made by other processes.
 */
export function attachSocketAccess(
  io: SocketServer,
  auth: Authenticator,
  namespaces: Record<string, ((principal: Principal) => void) | undefined>,
): () => void {
  const attached: Namespace[] = [];
  for (const [name, admit] of Object.entries(namespaces)) {
    const namespace = io.of(name);
    attached.push(namespace);
    namespace.use((socket, next) => {
      const handshakeToken = (socket.handshake.auth as { token?: unknown } | undefined)?.token ?? socket.handshake.query.token;
      auth.identify(typeof handshakeToken === 'string' ? handshakeToken : undefined).then(
        (principal) => {
          try {
            admit?.(principal);
          } catch (error) {
            return refuse(error);
          }
          socket.data = { ...(socket.data as object), principal, role: principal.role, ...('tokenId' in principal && principal.tokenId ? { tokenId: principal.tokenId } : {}) };
          next();
        },
        refuse,
      );
      function refuse(error: unknown): void {
        // Access refusals and a store that cannot be reached (store_unavailable) are told with their code.
        if (!(error instanceof LivefxError)) return next(error as Error);
        const refusal = new Error(error.message) as Error & { data: unknown };
        refusal.data = { code: error.code, message: error.message };
        next(refusal);
      }
    });
  }
  const disconnectWhere = (revoked: (tokenId: string) => boolean): void => {
    for (const namespace of attached) {
      for (const socket of namespace.sockets.values()) {
        const principal = principalOf(socket);
        if ('tokenId' in principal && principal.tokenId && revoked(principal.tokenId)) {
          socket.emit('revoked', { code: 'token_revoked', message: 'your token was revoked' });
          socket.disconnect(true);
        }
      }
    }
  };
  auth.tokens.on('revoked', (record: TokenRecord) => disconnectWhere((tokenId) => tokenId === record.id));
  // Revocations by another process (`livefx admin-token --rotate`, another node on the shared store) are found here.
  const sweepRevoked = async (): Promise<void> => {
    const tokenIds = new Set<string>();
    for (const namespace of attached) {
      for (const socket of namespace.sockets.values()) {
        const principal = principalOf(socket);
        if ('tokenId' in principal && principal.tokenId) tokenIds.add(principal.tokenId);
      }
    }
    const revoked = new Set<string>();
    for (const tokenId of tokenIds) if ((await auth.tokens.get(tokenId))?.revokedAt !== undefined) revoked.add(tokenId);
    if (revoked.size > 0) disconnectWhere((tokenId) => revoked.has(tokenId));
  };
  let sweeping = false;
  const sweep = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    sweepRevoked()
      .catch(() => undefined)
      .finally(() => (sweeping = false));
  }, REVOCATION_SWEEP_MS);
  sweep.unref();
  return () => clearInterval(sweep);
}

/** How often open sockets' tokens are checked against the store (a revocation on another node or by the CLI lands within this). */
const REVOCATION_SWEEP_MS = 5_000;
