const loading = new Map<string, Promise<boolean>>();

/**
 * Loads a classic script (one that defines a global) once, when a page first needs it, instead of
 * as a page script that the page's module must wait for. `isLoaded` tells whether its global is
 * already there (a page that lists the script itself). Resolves false when it cannot be loaded.
 */
export function loadClassicScript(src: string, isLoaded: () => boolean): Promise<boolean> {
  if (isLoaded()) return Promise.resolve(true);
  let done = loading.get(src);
  if (!done) {
    done = new Promise((resolve) => {
      const script = document.createElement('script');
      script.src = src;
      script.addEventListener('load', () => resolve(isLoaded()));
      script.addEventListener('error', () => resolve(false));
      document.head.append(script);
    });
    loading.set(src, done);
  }
  return done;
}

/** hls.js: only a player that falls back to (or starts with) HLS pays for its 600 KB. */
export const loadHlsScript = (): Promise<boolean> => loadClassicScript('/vendor/hls.min.js', () => typeof Hls !== 'undefined');

/** The socket.io client: a watch page starts its WHEP offer before this arrives (the page preloads it). */
export const loadSocketIoScript = (): Promise<boolean> => loadClassicScript('/socket.io/socket.io.js', () => typeof io !== 'undefined');
