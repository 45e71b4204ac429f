// Measures what the proof of work costs a browser: the widget's own code (haven-protocol.js over
// libsodium in WebAssembly) solving challenges with random nonces, 15 per level.
// `node Scripts/bench-proof-of-work.mjs` (after Scripts/build-sodium-wasm.sh, which the tests run).
import { readFileSync } from "node:fs";
import { webcrypto } from "node:crypto";
import { loadSodium } from "../Sources/HavenWeb/Public/sodium.js";
import { haven } from "../Sources/HavenWeb/Public/haven-protocol.js";

const root = new URL("../", import.meta.url);
const sodium = await loadSodium(readFileSync(new URL("Sources/HavenWeb/Public/sodium.wasm", root)), (bytes) => webcrypto.getRandomValues(bytes));
const protocol = haven(sodium);
const member = webcrypto.getRandomValues(new Uint8Array(32));
const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];

// Solving takes 2^bits hashes on average (a geometric distribution: the median is about 0.7 of
// that, and one solve in twenty takes three times the average).
for (const bits of [12, 15, 16, 18, 20]) {
  const times = [];
  for (let run = 0; run < 15; run += 1) {
    const nonce = webcrypto.getRandomValues(new Uint8Array(32));
    const begin = performance.now();
    await protocol.solveProofOfWork("haven.example", nonce, member, bits);
    times.push(performance.now() - begin);
  }
  const mean = times.reduce((sum, time) => sum + time, 0) / times.length;
  console.log(`proof of work: ${bits} bits, median ${Math.round(median(times))} ms, mean ${Math.round(mean)} ms, ` +
    `about ${Math.round(2 ** bits / (mean / 1000) / 1000)}k hashes/s (${times.length} solves)`);
}
