/**
 * The main thread's side of a document read and mapped on a worker (map_worker.ts): `write`
 * hands bytes over, and while it waits for room it replays the worker's events into `events`
 * (the journal), so parsing and SQLite run at the same time. Same contract as the reader it
 * stands in for: push bytes, then `close` for the summary; a refused document throws the same
 * typed error, from `write` or `close`.
 *
 * Memory stays bounded: at most TO_WORKER bytes of the document and TO_MAIN bytes of events are
 * in flight, and each side blocks when it is that far ahead.
 *
 * The worker's position questions (corporate actions, transfers) are answered here, from the
 * journal, when their line is replayed: the worker blocks on the answer stream meanwhile. This
 * side replays lines whenever it waits, so a question is always reached; and the worker waits
 * only on the answer stream then, so the answer (however long) always gets through.
 */
import type { DocumentSummary } from "../flex/reader.ts";
import type { MappingEvents } from "./mapping_events.ts";
import { MappingLineReader } from "./mapping_lines.ts";
import type { MapWorkerStart } from "./map_worker.ts";
import { createLinkBuffer, type StreamShape, ThreadLink } from "./thread_link.ts";

const TO_WORKER: StreamShape = { slots: 4, slotBytes: 1 << 20 };
const TO_MAIN: StreamShape = { slots: 8, slotBytes: 128 * 1024 };
/** How long the worker may take to start before the run gives up on it. */
const STARTUP_MS = 60_000;

export class MappingThread implements Disposable {
  readonly #worker: Worker;
  readonly #link: ThreadLink;
  readonly #lines: MappingLineReader;
  readonly #decoder = new TextDecoder();
  readonly #startedAt = performance.now();
  #stopped = false;

  constructor(origin: string, events: MappingEvents) {
    const buffer = createLinkBuffer(TO_WORKER, TO_MAIN);
    this.#link = new ThreadLink(buffer);
    this.#lines = new MappingLineReader(events, (text) => this.#answer(text));
    this.#worker = new Worker(new URL("./map_worker.ts", import.meta.url), { type: "module" });
    // Failures come back over the link; an error event arriving after this side stopped
    // listening must not end the process.
    this.#worker.onerror = (e) => e.preventDefault();
    this.#worker.postMessage({ buffer, origin } satisfies MapWorkerStart);
  }

  /** Hands over the next bytes (copied: the caller may reuse its buffer). */
  write(chunk: Uint8Array): void {
    this.#guard(() => {
      const stream = this.#link.toWorker;
      for (let at = 0; at < chunk.byteLength;) {
        this.#wait(() => stream.hasRoom);
        at += stream.tryWrite(chunk.subarray(at));
      }
      this.#drain();
    });
  }

  /** Ends the document and returns the worker's summary, once every event is replayed. */
  close(): DocumentSummary {
    return this.#guard(() => {
      const link = this.#link;
      this.#wait(() => link.toWorker.hasRoom);
      link.toWorker.tryEnd();
      this.#wait(() => link.toMain.ended);
      const summary = this.#lines.summary;
      if (!summary) throw new Error("the statement reader thread ended without a summary");
      this.#stop();
      return summary;
    });
  }

  /** Stops the worker (idempotent); after an error or when the caller gives up. */
  [Symbol.dispose](): void {
    this.#stop();
  }

  #stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#link.cancel();
    this.#worker.terminate();
  }

  #guard<T>(work: () => T): T {
    if (this.#stopped) throw new Error("the statement reader thread has stopped");
    try {
      return work();
    } catch (e) {
      this.#stop();
      throw e;
    }
  }

  /** Blocks until `ready`, replaying events meanwhile so the worker never stalls on them. */
  #wait(ready: () => boolean): void {
    this.#link.until(() => {
      this.#drain();
      return ready();
    }, () => {
      if (!this.#link.ready && performance.now() - this.#startedAt > STARTUP_MS) {
        throw new Error(`the statement reader thread did not start within ${STARTUP_MS / 1000} s`);
      }
    });
  }

  /** Sends one answer, ended by an empty line (an answer has none of its own). */
  #answer(text: string): void {
    const stream = this.#link.answers;
    const answer = `${text}\n`;
    for (let at = 0; at < answer.length;) {
      // Not #wait: this runs while lines are being replayed, and the worker is reading answers.
      this.#link.until(() => stream.hasRoom);
      at += stream.tryWriteText(at === 0 ? answer : answer.slice(at));
    }
  }

  #drain(): void {
    const stream = this.#link.toMain;
    const replay = (bytes: Uint8Array) =>
      this.#lines.push(this.#decoder.decode(bytes, { stream: true }));
    while (stream.tryRead(replay)) {
      if (stream.ended) this.#lines.push(this.#decoder.decode());
    }
  }
}
