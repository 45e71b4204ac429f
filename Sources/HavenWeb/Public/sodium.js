// The browser's (and Node's) binding to libsodium compiled to WebAssembly by
// Scripts/build-sodium-wasm.sh: the functions Haven's protocol needs, over byte arrays.
// Nothing here is cryptography of its own: every operation is libsodium's.

/** Loads the module from `source` (a URL, or the bytes) and returns the functions. */
export async function loadSodium(source, getRandomValues = (bytes) => crypto.getRandomValues(bytes)) {
  let memory;
  const wasi = {
    random_get(pointer, length) {
      getRandomValues(new Uint8Array(memory.buffer, pointer, length));
      return 0;
    },
    proc_exit(code) { throw new Error(`libsodium exited (${code})`); },
    fd_write() { return 52; },
    fd_close() { return 52; },
    fd_seek() { return 52; },
    fd_fdstat_get() { return 52; },
    environ_get() { return 0; },
    environ_sizes_get(countPointer, sizePointer) {
      new DataView(memory.buffer).setUint32(countPointer, 0, true);
      new DataView(memory.buffer).setUint32(sizePointer, 0, true);
      return 0;
    },
    clock_time_get(_id, _precision, timePointer) {
      new DataView(memory.buffer).setBigUint64(timePointer, BigInt(Date.now()) * 1000000n, true);
      return 0;
    },
  };
  const bytes = source instanceof Uint8Array || source instanceof ArrayBuffer ? source : await (await fetch(source)).arrayBuffer();
  const { instance } = await WebAssembly.instantiate(bytes, {
    wasi_snapshot_preview1: new Proxy(wasi, { get: (target, name) => target[name] ?? (() => 52) }),
  });
  const lib = instance.exports;
  memory = lib.memory;
  if (lib._initialize) lib._initialize();
  if (lib.sodium_init() < 0) throw new Error("libsodium could not be initialised");

  // Copies arguments into wasm memory, runs `body` with their pointers, copies `outputs` back,
  // and zeroes and frees everything, secrets included.
  function call(inputs, outputs, body) {
    const pointers = [];
    const allocate = (length) => { const pointer = lib.malloc(Math.max(length, 1)); pointers.push([pointer, Math.max(length, 1)]); return pointer; };
    try {
      const inputPointers = inputs.map((input) => { const pointer = allocate(input.length); new Uint8Array(memory.buffer, pointer, input.length).set(input); return pointer; });
      const outputPointers = outputs.map(allocate);
      const status = body(...inputPointers, ...outputPointers);
      if (status !== undefined && status !== 0) return null;
      return outputPointers.map((pointer, index) => new Uint8Array(memory.buffer, pointer, outputs[index]).slice());
    } finally {
      for (const [pointer, length] of pointers) { lib.sodium_memzero(pointer, length); lib.free(pointer); }
    }
  }
  const fail = (what) => { throw new Error(what); };

  return {
    randomBytes(length) {
      return call([], [length], (output) => { lib.randombytes_buf(output, length); })[0];
    },
    signSeedKeypair(seed) {
      const [publicKey, secretKey] = call([seed], [32, 64], (s, pk, sk) => lib.crypto_sign_seed_keypair(pk, sk, s));
      return { publicKey, secretKey };
    },
    sign(message, secretKey) {
      return call([message, secretKey], [64], (m, sk, sig) => lib.crypto_sign_detached(sig, 0, m, BigInt(message.length), sk))[0];
    },
    verify(signature, message, publicKey) {
      if (signature.length !== 64 || publicKey.length !== 32) return false;
      return call([signature, message, publicKey], [], (sig, m, pk) => lib.crypto_sign_verify_detached(sig, m, BigInt(message.length), pk)) !== null;
    },
    publicKeyToCurve25519(publicKey) {
      return call([publicKey], [32], (pk, out) => lib.crypto_sign_ed25519_pk_to_curve25519(out, pk))?.[0] ?? fail("not an Ed25519 point");
    },
    secretKeyToCurve25519(secretKey) {
      return call([secretKey], [32], (sk, out) => lib.crypto_sign_ed25519_sk_to_curve25519(out, sk))[0];
    },
    seal(message, publicKey) {
      return call([message, publicKey], [message.length + 48], (m, pk, out) => lib.crypto_box_seal(out, m, BigInt(message.length), pk))[0];
    },
    sealOpen(sealed, publicKey, secretKey) {
      if (sealed.length < 48) fail(`sealed box is too short: ${sealed.length} bytes, need at least 48`);
      return call([sealed, publicKey, secretKey], [sealed.length - 48], (c, pk, sk, out) => lib.crypto_box_seal_open(out, c, BigInt(sealed.length), pk, sk))?.[0]
        ?? fail("sealed box could not be opened");
    },
    aeadEncrypt(message, associatedData, nonce, key) {
      return call([message, associatedData, nonce, key], [message.length + 16],
        (m, ad, n, k, out) => lib.crypto_aead_xchacha20poly1305_ietf_encrypt(out, 0, m, BigInt(message.length), ad, BigInt(associatedData.length), 0, n, k))[0];
    },
    aeadDecrypt(ciphertext, associatedData, nonce, key) {
      if (ciphertext.length < 16) fail("ciphertext is too short");
      return call([ciphertext, associatedData, nonce, key], [ciphertext.length - 16],
        (c, ad, n, k, out) => lib.crypto_aead_xchacha20poly1305_ietf_decrypt(out, 0, 0, c, BigInt(ciphertext.length), ad, BigInt(associatedData.length), n, k))?.[0]
        ?? fail("ciphertext failed authentication");
    },
    /** secretstream: encrypts `bytes` in `chunkSize` chunks, the last tagged final. */
    streamEncrypt(bytes, key, chunkSize) {
      const stateLength = lib.crypto_secretstream_xchacha20poly1305_statebytes();
      const chunks = Math.max(1, Math.ceil(bytes.length / chunkSize));
      const output = new Uint8Array(bytes.length + chunks * 17);
      const [header] = call([key], [24, stateLength], (k, head, state) => {
        lib.crypto_secretstream_xchacha20poly1305_init_push(state, head, k);
        let written = 0;
        for (let index = 0; index < chunks; index += 1) {
          const chunk = bytes.subarray(index * chunkSize, Math.min(bytes.length, (index + 1) * chunkSize));
          const done = call([chunk], [chunk.length + 17], (m, c) =>
            lib.crypto_secretstream_xchacha20poly1305_push(state, c, 0, m, BigInt(chunk.length), 0, 0n, index === chunks - 1 ? 3 : 0))[0];
          output.set(done, written);
          written += done.length;
        }
      });
      return { header, ciphertext: output };
    },
    /** secretstream: decrypts chunk by chunk; refuses altered, reordered or truncated streams. */
    streamDecrypt(ciphertext, header, key, chunkSize) {
      const stateLength = lib.crypto_secretstream_xchacha20poly1305_statebytes();
      const output = [];
      let finished = false;
      call([key, header], [stateLength], (k, head, state) => {
        if (lib.crypto_secretstream_xchacha20poly1305_init_pull(state, head, k) !== 0) fail("bad secretstream header");
        for (let offset = 0; offset < ciphertext.length; offset += chunkSize + 17) {
          if (finished) fail("data after the final chunk");
          const chunk = ciphertext.subarray(offset, Math.min(ciphertext.length, offset + chunkSize + 17));
          const [plain, tag] = call([chunk], [chunk.length - 17, 1], (c, m, t) =>
            lib.crypto_secretstream_xchacha20poly1305_pull(state, m, 0, t, c, BigInt(chunk.length), 0, 0n)) ?? fail("attachment failed authentication");
          output.push(plain);
          finished = tag[0] === 3;
        }
      });
      if (!finished) fail("attachment is truncated");
      const bytes = new Uint8Array(output.reduce((sum, part) => sum + part.length, 0));
      let offset = 0;
      for (const part of output) { bytes.set(part, offset); offset += part.length; }
      return bytes;
    },
    /** ISO/IEC 7816-4 padding (`sodium_pad`) to the next multiple of `blockSize`. */
    pad(bytes, blockSize) {
      const capacity = (Math.floor(bytes.length / blockSize) + 1) * blockSize;
      return call([], [capacity, 4], (out, length) => {
        new Uint8Array(memory.buffer, out, bytes.length).set(bytes);
        return lib.sodium_pad(length, out, bytes.length, blockSize, capacity);
      })[0];
    },
    /** The bytes before the padding that ends the last `blockSize` bytes (`sodium_unpad`). */
    unpad(padded, blockSize) {
      if (blockSize < 1 || padded.length < blockSize) fail("padding is invalid");
      const [length] = call([padded], [4], (p, out) => lib.sodium_unpad(out, p, padded.length, blockSize)) ?? fail("padding is invalid");
      return padded.slice(0, new DataView(length.buffer).getUint32(0, true));
    },
    blake2b(message, key, length = 32) {
      return call([message, key], [length], (m, k, out) => lib.crypto_generichash(out, length, m, BigInt(message.length), k, key.length))[0];
    },
  };
}
