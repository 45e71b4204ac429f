// A download's body, as the widget reads it: what a lying server sends past the sender's size, or
// past its own stated length, with a length or without one, is refused before it is held; one cut
// short is refused too; an honest one arrives whole, its progress told.
//   node Tests/Web/attachments.test.mjs
import assert from "node:assert/strict";
import { readShowingProgress } from "../../Sources/HavenWeb/Public/attachments.js";

/** A response whose body comes in `parts` (byte counts), with `length` as its Content-Length. */
function response(parts, length) {
  const body = new ReadableStream({
    start(controller) {
      for (const count of parts) controller.enqueue(new Uint8Array(count).fill(7));
      controller.close();
    },
  });
  return new Response(body, { headers: length === undefined ? {} : { "Content-Length": String(length) } });
}

const refused = async (promise, what) => assert.rejects(promise, Error, what);
let checks = 0;

const told = [];
const honest = await readShowingProgress(response([300, 700], 1000), 2000, (percent) => told.push(percent));
assert.equal(honest.length, 1000);
assert.deepEqual(told, [30, 100]);
checks += 2;

await refused(readShowingProgress(response([10], 5_000_000_000), 2000, () => {}), "a stated length past the sender's size");
await refused(readShowingProgress(response([1500, 1500]), 2000, () => {}), "no length, and more than the sender's size");
await refused(readShowingProgress(response([800, 800], 1000), 2000, () => {}), "more than its own stated length");
await refused(readShowingProgress(response([400], 1000), 2000, () => {}), "cut short of its stated length");
checks += 4;

const unstated = await readShowingProgress(response([600, 600]), 2000, () => assert.fail("no progress without a length"));
assert.equal(unstated.length, 1200);
checks += 1;

console.log(`attachments: ${checks} checks of how a download's body is read passed`);
