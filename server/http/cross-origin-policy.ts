/** The parts of the server another origin deals with in different ways. */
export type OriginSurface = 'media' | 'api' | 'embed' | 'page';

/** WHIP, WHEP and HLS: what an integrator's own publisher and player pages call. */
const MEDIA_PATH = /^\/(whip|whep|hls)\//;

export interface CrossOriginPolicyOptions {
  /** LIVEFX_CORS_ORIGINS: `*` and/or origins. `*` opens the media routes to any page; an origin listed by name reaches the /v1 API too. */
  corsOrigins: readonly string[];
  /** LIVEFX_EMBED_ORIGINS: `*` and/or origins whose pages may frame /embed. */
  embedOrigins: readonly string[];
}

/**
 * Which other web origins may read livefx's answers and frame its player. The media routes carry
 * their credentials as bearer tokens and signed links (never cookies), so `*` is safe for them; the
 * /v1 management API answers another origin only when that origin is named.
 */
export class CrossOriginPolicy {
  /** The CSP `frame-ancestors` sources of /embed (every other page: 'none'). */
  readonly embedFrameAncestors: string;
  private readonly anyMediaOrigin: boolean;
  private readonly namedOrigins: ReadonlySet<string>;

  constructor(options: CrossOriginPolicyOptions) {
    this.anyMediaOrigin = options.corsOrigins.includes('*');
    this.namedOrigins = new Set(options.corsOrigins.filter((origin) => origin !== '*'));
    const named = options.embedOrigins.filter((origin) => origin !== '*');
    this.embedFrameAncestors = options.embedOrigins.includes('*') ? '*' : ["'self'", ...named].join(' ');
  }

  static surfaceOf(pathname: string): OriginSurface {
    if (MEDIA_PATH.test(pathname)) return 'media';
    if (pathname === '/v1' || pathname.startsWith('/v1/')) return 'api';
    if (pathname === '/embed') return 'embed';
    return 'page';
  }

  /** The `Access-Control-Allow-Origin` for a request from `origin`, or undefined: the browser keeps the answer from that page. */
  allowOrigin(surface: OriginSurface, origin: string | undefined): string | undefined {
    // `*` is sent even without an Origin: a CDN may cache the first answer and serve it to every page.
    if (surface === 'media' && this.anyMediaOrigin) return '*';
    if ((surface === 'media' || surface === 'api') && origin !== undefined && this.namedOrigins.has(origin)) return origin;
    return undefined;
  }

  /** Whether the answer names the asking origin, so caches must keep one copy per Origin. */
  variesByOrigin(surface: OriginSurface): boolean {
    if (surface === 'media') return !this.anyMediaOrigin && this.namedOrigins.size > 0;
    return surface === 'api' && this.namedOrigins.size > 0;
  }

  /** `Cross-Origin-Resource-Policy`: media another origin may read is `cross-origin` (players that load it without CORS too). */
  resourcePolicy(surface: OriginSurface): 'cross-origin' | 'same-origin' {
    return surface === 'media' && (this.anyMediaOrigin || this.namedOrigins.size > 0) ? 'cross-origin' : 'same-origin';
  }
}
