import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../core/config.js';

describe('configuration', () => {
  it('has working defaults: loopback, port 8080, ./data', () => {
    const config = loadConfig({});
    expect(config.HOST).toBe('127.0.0.1');
    expect(config.PORT).toBe(8080);
    expect(config.LIVEFX_DATA_DIR).toBe(path.resolve('data'));
    expect(config.LIVEFX_BURN_IN).toBe(true);
  });

  it('reads values from the environment', () => {
    const config = loadConfig({ PORT: '9000', LIVEFX_DATA_DIR: '/tmp/x', LIVEFX_BURN_IN: 'false', LIVEFX_RTC_PORTS: '40000-40100' });
    expect(config.PORT).toBe(9000);
    expect(config.LIVEFX_DATA_DIR).toBe('/tmp/x');
    expect(config.LIVEFX_BURN_IN).toBe(false);
  });

  it('names the variable that is wrong', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: '70000' })).toThrow(/PORT/);
    expect(() => loadConfig({ LIVEFX_RTC_PORTS: 'lots' })).toThrow(/LIVEFX_RTC_PORTS.*min-max/);
    expect(() => loadConfig({ LIVEFX_URL: 'not a url' })).toThrow(/LIVEFX_URL/);
  });
});
