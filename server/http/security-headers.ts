import type { FastifyInstance } from 'fastify';

/**
 * The pages load only their own scripts (no inline script or style attributes), hls.js feeds
 * MediaSource from blob: URLs and may run its worker from one, and everything live goes over
 * this origin's WebSocket. Nothing may frame the pages.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "worker-src 'self' blob:",
  "connect-src 'self' ws: wss:",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Security headers on every HTTP response. Tokens travel in page URLs (`?token=`), so no referrer
 * ever leaves; camera and microphone are this origin's only. No CORS headers are ever sent:
 * other origins cannot read the API (closed by default).
 */
export function registerSecurityHeaders(app: FastifyInstance, tls: boolean): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'no-referrer');
    reply.header('X-Frame-Options', 'DENY');
    reply.header('Cross-Origin-Opener-Policy', 'same-origin');
    reply.header('Cross-Origin-Resource-Policy', 'same-origin');
    reply.header('Permissions-Policy', 'camera=(self), microphone=(self), geolocation=(), payment=(), usb=()');
    if (tls) reply.header('Strict-Transport-Security', 'max-age=31536000');
    return payload;
  });
}
