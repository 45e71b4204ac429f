// Where this device keeps a member's identity. By default nowhere: the seed lives in this page's
// memory and is gone on reload, so a shared computer keeps no trace of who was here. "Remember me
// on this device" keeps the seed encrypted by a WebCrypto key that cannot be exported (it stays
// inside the browser's key store) in IndexedDB, and keeps the widget's other state (room-log
// anchors, counters, settings) in localStorage; forgetting wipes all of it.

const databaseName = "haven";
const storeName = "identity";
const recordKey = "seed";

/** Storage with localStorage's methods, kept in memory for this page only. */
class MemoryStorage {
  constructor() { this.items = new Map(); }
  getItem(key) { return this.items.has(key) ? this.items.get(key) : null; }
  setItem(key, value) { this.items.set(key, String(value)); }
  removeItem(key) { this.items.delete(key); }
  clear() { this.items.clear(); }
  entries() { return [...this.items]; }
}

/** Storage that writes to memory or to localStorage, moving its contents when that changes.
 *  Only the widget's own keys (`haven.…`) are touched: a provider hosting the widget may keep
 *  its own things in the same origin's storage. */
class SwitchableStorage {
  constructor(local) { Object.assign(this, { local, memory: new MemoryStorage(), persistent: false }); }
  get current() { return this.persistent ? this.local : this.memory; }
  getItem(key) { return this.current.getItem(key); }
  setItem(key, value) { this.current.setItem(key, value); }
  removeItem(key) { this.current.removeItem(key); }
  /** Every key this widget keeps, wherever it keeps them now. */
  keys() { return this.persistent ? this.ownKeys() : this.memory.entries().map(([key]) => key); }
  ownKeys() {
    return Array.from({ length: this.local.length }, (_, index) => this.local.key(index)).filter((key) => key?.startsWith("haven."));
  }
  persist() {
    for (const [key, value] of this.memory.entries()) this.local.setItem(key, value);
    this.memory.clear();
    this.persistent = true;
  }
  /** Stops writing to the device; this page keeps what it knows, in memory. */
  keepInMemoryOnly() {
    for (const key of this.ownKeys()) { this.memory.setItem(key, this.local.getItem(key)); this.local.removeItem(key); }
    this.persistent = false;
  }
  forget() {
    this.persistent = false;
    for (const key of this.ownKeys()) this.local.removeItem(key);
    this.memory.clear();
  }
}

function request(operation) {
  return new Promise((resolve, reject) => {
    operation.onsuccess = () => resolve(operation.result);
    operation.onerror = () => reject(operation.error);
  });
}

// Reading never creates the database: a device that was never asked to remember keeps no trace.
async function openDatabase(indexedDB, create) {
  const opening = indexedDB.open(databaseName, 1);
  opening.onupgradeneeded = () => {
    if (create) opening.result.createObjectStore(storeName); else opening.transaction.abort();
  };
  return request(opening);
}

async function withStore(indexedDB, mode, body) {
  const database = await openDatabase(indexedDB, mode === "readwrite");
  try {
    const transaction = database.transaction(storeName, mode);
    const done = new Promise((resolve, reject) => { transaction.oncomplete = resolve; transaction.onerror = () => reject(transaction.error); });
    const result = await request(body(transaction.objectStore(storeName)));
    await done;
    return result;
  } finally {
    database.close();
  }
}

export class DeviceIdentity {
  /** `randomBytes(n)` makes a new seed; `subtle`, `indexedDB` and `localStorage` are the browser's. */
  constructor({ randomBytes, subtle, indexedDB, localStorage }) {
    Object.assign(this, { randomBytes, subtle, indexedDB, storage: new SwitchableStorage(localStorage), seed: null });
  }

  /** True when this browser can keep a wrapped seed (a secure context with IndexedDB). */
  get canRemember() { return Boolean(this.subtle && this.indexedDB); }

  /** True when the seed is kept on this device. */
  get remembered() { return this.storage.persistent; }

  /** The remembered seed if there is one (and it still opens), else a new one for this page. */
  async load() {
    if (this.canRemember) {
      try {
        const record = await withStore(this.indexedDB, "readonly", (store) => store.get(recordKey));
        if (record) {
          this.seed = new Uint8Array(await this.subtle.decrypt({ name: "AES-GCM", iv: record.iv }, record.key, record.sealed));
          this.storage.persistent = true;
          return this.seed;
        }
      } catch { /* an unreadable record is treated as none: a new identity, nothing lost to anyone else */ }
    }
    this.seed = this.randomBytes(32);
    return this.seed;
  }

  /** Keeps the seed on this device, wrapped by a new non-extractable AES-GCM key. */
  async remember() {
    if (!this.canRemember) throw new Error("this browser cannot keep an identity safely here");
    const key = await this.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
    const iv = this.randomBytes(12);
    const sealed = await this.subtle.encrypt({ name: "AES-GCM", iv }, key, this.seed);
    await withStore(this.indexedDB, "readwrite", (store) => store.put({ key, iv, sealed }, recordKey));
    this.storage.persist();
  }

  /** Stops keeping anything on this device; this page's identity lives on until it closes. */
  async stopRemembering() {
    this.storage.keepInMemoryOnly();
    if (this.canRemember) await withStore(this.indexedDB, "readwrite", (store) => store.delete(recordKey));
  }

  /** Wipes every trace this widget keeps: the wrapped seed, its storage keys, its caches. */
  async forgetEverything({ sessionStorage, caches }) {
    this.storage.forget();
    for (const key of Object.keys(sessionStorage).filter((name) => name.startsWith("haven."))) sessionStorage.removeItem(key);
    if (this.indexedDB) await request(this.indexedDB.deleteDatabase(databaseName)).catch(() => {});
    if (caches) for (const name of (await caches.keys()).filter((cache) => cache.startsWith("haven"))) await caches.delete(name);
    this.seed?.fill(0);
  }
}
