import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { chmod, link, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A public key that signed (or signs) manifests: what `GET /v1/provenance/key` lists. */
export interface ProvenancePublicKey {
  /** The first 16 hex digits of the SHA-256 of the key's SPKI DER form; named by every signature it made. */
  id: string;
  algorithm: 'Ed25519';
  /** SPKI PEM. */
  publicKey: string;
  createdAt: string;
  /** Set once a rotation replaced it: it signs nothing new, but what it signed still verifies. */
  retiredAt?: string;
}

/** The key that signs now. */
export interface ProvenanceSigningKey {
  id: string;
  privateKey: KeyObject;
  createdAt: string;
}

export interface ProvenanceKeyStoreOptions {
  /** The folder of the keys: `$LIVEFX_DATA_DIR/keys` (ProvenanceKeyStore.dirIn). */
  dir: string;
}

const PRIVATE_FILE = 'provenance-ed25519.pem';
const PUBLIC_DIR = 'provenance-public';

/** The id a signature names: short enough to read, long enough that two keys never share one by chance. */
export function provenanceKeyId(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

const isCode = (error: unknown, code: string): boolean => (error as NodeJS.ErrnoException | null)?.code === code;

/**
 * The provenance signing keys of one data directory: the current Ed25519 private key
 * (`keys/provenance-ed25519.pem`, mode 0600, made on first use) and the public key of every key that
 * ever signed (`keys/provenance-public/<id>.json`), so manifests signed before a rotation still verify.
 * One file per public key and atomic renames: the server and the CLI may share the folder.
 */
export class ProvenanceKeyStore {
  static dirIn(dataDir: string): string {
    return path.join(dataDir, 'keys');
  }

  readonly dir: string;
  private cached: { stamp: string; key: ProvenanceSigningKey } | undefined;

  constructor(options: ProvenanceKeyStoreOptions) {
    this.dir = options.dir;
  }

  get privateKeyFile(): string {
    return path.join(this.dir, PRIVATE_FILE);
  }

  private get publicDir(): string {
    return path.join(this.dir, PUBLIC_DIR);
  }

  /** The key that signs now, made on first use; a rotation by another process is picked up at the next call. */
  async current(): Promise<ProvenanceSigningKey> {
    for (;;) {
      let stamp: string;
      try {
        const info = await stat(this.privateKeyFile);
        stamp = `${info.ino}:${info.mtimeMs}:${info.size}`;
      } catch (error) {
        if (!isCode(error, 'ENOENT')) throw error;
        await this.createFirst();
        continue;
      }
      if (this.cached?.stamp === stamp) return this.cached.key;
      const privateKey = createPrivateKey(await readFile(this.privateKeyFile, 'utf8'));
      if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${this.privateKeyFile} is not an Ed25519 private key`);
      const publicKey = createPublicKey(privateKey);
      const id = provenanceKeyId(publicKey);
      // A public entry lost (or never written by a crash) is written again: what this key signs must verify.
      const known = await this.readPublic(id);
      const createdAt = known?.createdAt ?? new Date((await stat(this.privateKeyFile)).mtimeMs).toISOString();
      if (!known) await this.writePublic({ id, algorithm: 'Ed25519', publicKey: publicPem(publicKey), createdAt });
      const key = { id, privateKey, createdAt };
      this.cached = { stamp, key };
      return key;
    }
  }

  /** Every public key this store knows, the current one first, then newest first. Reads only: never makes a key. */
  async publicKeys(): Promise<ProvenancePublicKey[]> {
    let names: string[];
    try {
      names = await readdir(this.publicDir);
    } catch (error) {
      if (isCode(error, 'ENOENT')) return [];
      throw error;
    }
    const keys: ProvenancePublicKey[] = [];
    for (const name of names) {
      if (!/^[0-9a-f]{16}\.json$/.test(name)) continue;
      const key = await this.readPublic(name.slice(0, 16));
      if (key) keys.push(key);
    }
    return keys.sort((a, b) => Number(a.retiredAt !== undefined) - Number(b.retiredAt !== undefined) || b.createdAt.localeCompare(a.createdAt));
  }

  /**
   * Replaces the signing key with a new one. The old private key is deleted (it signs nothing more);
   * its public key stays, marked retired, so everything it signed still verifies.
   */
  async rotate(): Promise<ProvenancePublicKey> {
    const previous = await this.current();
    const fresh = await this.generate();
    const temporary = await this.writeTemporaryPrivate(fresh.privatePem);
    await rename(temporary, this.privateKeyFile);
    const old = await this.readPublic(previous.id);
    if (old && previous.id !== fresh.entry.id) await this.writePublic({ ...old, retiredAt: new Date().toISOString() });
    this.cached = undefined;
    return fresh.entry;
  }

  /** First start: makes the key unless another process (server or CLI) makes it at the same moment. */
  private async createFirst(): Promise<void> {
    const fresh = await this.generate();
    const temporary = await this.writeTemporaryPrivate(fresh.privatePem);
    try {
      // link() fails when the file exists: of two processes racing here exactly one key wins.
      await link(temporary, this.privateKeyFile);
    } catch (error) {
      if (!isCode(error, 'EEXIST')) throw error;
      await rm(path.join(this.publicDir, `${fresh.entry.id}.json`), { force: true });
    } finally {
      await rm(temporary, { force: true });
    }
  }

  private async generate(): Promise<{ entry: ProvenancePublicKey; privatePem: string }> {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const entry: ProvenancePublicKey = { id: provenanceKeyId(publicKey), algorithm: 'Ed25519', publicKey: publicPem(publicKey), createdAt: new Date().toISOString() };
    // The public half is written first: a key never signs before its public key is listed.
    await this.writePublic(entry);
    return { entry, privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
  }

  private async writeTemporaryPrivate(pem: string): Promise<string> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const temporary = path.join(this.dir, `.${PRIVATE_FILE}.${process.pid}.${randomBytes(6).toString('hex')}`);
    await writeFile(temporary, pem, { mode: 0o600, flag: 'wx' });
    // The umask cannot widen 0600, but a chmod makes the mode independent of it.
    await chmod(temporary, 0o600);
    return temporary;
  }

  private async readPublic(id: string): Promise<ProvenancePublicKey | undefined> {
    try {
      const parsed = JSON.parse(await readFile(path.join(this.publicDir, `${id}.json`), 'utf8')) as ProvenancePublicKey;
      return typeof parsed.publicKey === 'string' && parsed.id === id ? parsed : undefined;
    } catch (error) {
      if (isCode(error, 'ENOENT') || error instanceof SyntaxError) return undefined;
      throw error;
    }
  }

  private async writePublic(entry: ProvenancePublicKey): Promise<void> {
    await mkdir(this.publicDir, { recursive: true });
    const file = path.join(this.publicDir, `${entry.id}.json`);
    const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(temporary, `${JSON.stringify(entry, null, 2)}\n`);
    await rename(temporary, file);
  }
}

function publicPem(publicKey: KeyObject): string {
  return publicKey.export({ type: 'spki', format: 'pem' }) as string;
}
