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

  it('takes the cluster guide\'s media names: LIVEFX_UDP_PORTS for LIVEFX_RTC_PORTS, LIVEFX_PUBLIC_ADDRESS added to LIVEFX_ICE_HOSTS', () => {
    const config = loadConfig({ LIVEFX_UDP_PORTS: '40000-40099', LIVEFX_PUBLIC_ADDRESS: '203.0.113.7', LIVEFX_ICE_HOSTS: '10.0.0.5' });
    expect(config.LIVEFX_RTC_PORTS).toBe('40000-40099');
    expect(config.LIVEFX_ICE_HOSTS).toBe('10.0.0.5,203.0.113.7');
    expect(loadConfig({ LIVEFX_PUBLIC_ADDRESS: '203.0.113.7' }).LIVEFX_ICE_HOSTS).toBe('203.0.113.7');
    expect(() => loadConfig({ LIVEFX_UDP_PORTS: '40000-40099', LIVEFX_RTC_PORTS: '41000-41099' })).toThrow(/LIVEFX_UDP_PORTS.*same setting/);
    expect(() => loadConfig({ LIVEFX_UDP_PORTS: '40099-40000' })).toThrow(/LIVEFX_UDP_PORTS.*not a port range/);
    expect(() => loadConfig({ LIVEFX_RTC_PORTS: '0-70000' })).toThrow(/LIVEFX_RTC_PORTS.*not a port range/);
  });

  it('names the variable that is wrong', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: '70000' })).toThrow(/PORT/);
    expect(() => loadConfig({ LIVEFX_RTC_PORTS: 'lots' })).toThrow(/LIVEFX_RTC_PORTS.*min-max/);
    expect(() => loadConfig({ LIVEFX_URL: 'not a url' })).toThrow(/LIVEFX_URL/);
  });
});
