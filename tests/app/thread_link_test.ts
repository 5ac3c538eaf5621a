/**
 * The shared-memory streams between the journal's thread and the mapping worker: bounded (a
 * writer that is ahead gets no room), lossless and in order, never splitting a character, and
 * a cancelled link stops whoever waits on it. Both ends of a stream are driven here from one
 * thread; tests/app/document_mapping_test.ts runs them across a real worker.
 */
import assert from "node:assert/strict";
import {
  createLinkBuffer,
  LinkCancelled,
  type StreamShape,
  ThreadLink,
} from "../../src/app/thread_link.ts";

function link(toWorker: StreamShape, toMain: StreamShape = { slots: 1, slotBytes: 4 }) {
  // Two views of one buffer, as the two threads have.
  const buffer = createLinkBuffer(toWorker, toMain);
  return { main: new ThreadLink(buffer), worker: new ThreadLink(buffer) };
}

function drain(stream: ThreadLink["toWorker"]): Uint8Array[] {
  const frames: Uint8Array[] = [];
  while (stream.tryRead((bytes) => frames.push(bytes.slice()))) { /* next */ }
  return frames;
}

Deno.test("a stream holds at most its slots: the writer gets no room until the reader frees one", () => {
  const { main, worker } = link({ slots: 3, slotBytes: 4 });
  const written: number[] = [];
  for (let i = 0; i < 5; i++) written.push(main.toWorker.tryWrite(new Uint8Array([i, i, i])));
  assert.deepEqual(written, [3, 3, 3, 0, 0]);
  assert.equal(main.toWorker.hasRoom, false);

  assert.ok(worker.toWorker.tryRead(() => {}));
  assert.equal(main.toWorker.hasRoom, true);
  assert.equal(main.toWorker.tryWrite(new Uint8Array([3])), 1);
  assert.equal(main.toWorker.hasRoom, false);
});

Deno.test("bytes larger than a slot go in slot-sized pieces and come back whole, in order", () => {
  const { main, worker } = link({ slots: 2, slotBytes: 5 });
  const sent = Uint8Array.from({ length: 23 }, (_, i) => i * 7);
  const received: number[] = [];
  for (let at = 0; at < sent.length;) {
    const n = main.toWorker.tryWrite(sent.subarray(at));
    if (n === 0) { for (const frame of drain(worker.toWorker)) received.push(...frame); }
    at += n;
  }
  for (const frame of drain(worker.toWorker)) received.push(...frame);
  assert.deepEqual(received, [...sent]);
});

Deno.test("text is never cut inside a character, whatever the slot size", () => {
  // 1-, 2-, 3- and 4-byte UTF-8 characters, and a surrogate pair.
  const text = "a\u00e9\u20ac\u{1D11E}b".repeat(40) + "\n\u2028end";
  for (const slotBytes of [4, 5, 6, 7, 64]) {
    const { main, worker } = link({ slots: 1, slotBytes }, { slots: 2, slotBytes });
    const decoder = new TextDecoder("utf-8", { fatal: true });
    let received = "";
    let rest = text;
    while (rest.length > 0) {
      const n = worker.toMain.tryWriteText(rest);
      rest = rest.slice(n);
      // Each slot on its own is whole UTF-8: decoding it without streaming must not fail.
      main.toMain.tryRead((bytes) => received += decoder.decode(bytes));
    }
    while (main.toMain.tryRead((bytes) => received += decoder.decode(bytes))) { /* next */ }
    assert.equal(received, text, `slots of ${slotBytes} bytes`);
  }
});

Deno.test("the end of a stream is read after everything written before it", () => {
  const { main, worker } = link({ slots: 3, slotBytes: 4 });
  main.toWorker.tryWrite(new Uint8Array([1, 2]));
  assert.ok(main.toWorker.tryEnd());
  const frames = drain(worker.toWorker);
  assert.deepEqual(frames.map((f) => [...f]), [[1, 2]]);
  assert.equal(worker.toWorker.ended, true);
  assert.equal(worker.toWorker.hasData, false);
});

Deno.test("until returns once the condition holds, and a cancelled link stops the waiter", () => {
  const { main, worker } = link({ slots: 1, slotBytes: 4 });
  main.toWorker.tryWrite(new Uint8Array([9]));
  worker.until(() => worker.toWorker.hasData);

  main.cancel();
  assert.equal(worker.cancelled, true);
  assert.throws(() => worker.until(() => false), LinkCancelled);
  // Work already done is still seen: cancelling stops only those who would wait.
  worker.until(() => true);
});
