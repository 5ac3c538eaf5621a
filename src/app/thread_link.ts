/**
 * Bounded byte streams between the main thread and a worker, in one SharedArrayBuffer: one
 * towards the worker, one back, and a third towards the worker for answers to the worker's
 * questions (kept apart from the first, which may be full of bytes the worker is not reading
 * while it waits for an answer). Each stream is a ring of fixed-size slots, so however far one
 * side gets ahead, at most `slots × slotBytes` bytes are in flight; memory stays flat.
 *
 * Both sides block with `Atomics.wait` instead of awaiting messages, so the journal keeps its one
 * synchronous transaction while a worker does the parsing. Every change rings one shared bell
 * that both sides wait on. A worker blocked in `Atomics.wait` does not stop when terminated
 * (Deno 2.9), so the main side raises `cancelled`, which every wait checks.
 */

/** Shape of one stream. */
export interface StreamShape {
  readonly slots: number;
  readonly slotBytes: number;
}

/** Thrown on the worker side when the main side has given up on it. */
export class LinkCancelled extends Error {
  constructor() {
    super("the main thread cancelled this work");
    this.name = "LinkCancelled";
  }
}

// Control words at the start of the buffer.
const BELL = 0;
const CANCELLED = 1;
const READY = 2;
const SHAPE = 3; // slots and slotBytes of toWorker, toMain, answers
const CONTROL_WORDS = 10;
// Each slot has a state word and a length word; a full slot of length END marks the end.
const EMPTY = 0;
const FULL = 1;
const END = -1;
/** Longest single wait; a safety net, since every change rings the bell. */
const WAIT_SLICE_MS = 1000;

/** Allocates the shared buffer for a link with these streams. */
export function createLinkBuffer(
  toWorker: StreamShape,
  toMain: StreamShape,
  answers: StreamShape = { slots: 2, slotBytes: 64 * 1024 },
): SharedArrayBuffer {
  const bytes = CONTROL_WORDS * 4 + streamBytes(toWorker) + streamBytes(toMain) +
    streamBytes(answers);
  const buffer = new SharedArrayBuffer(bytes);
  new Int32Array(buffer, 0, CONTROL_WORDS).set(
    [
      toWorker.slots,
      toWorker.slotBytes,
      toMain.slots,
      toMain.slotBytes,
      answers.slots,
      answers.slotBytes,
    ],
    SHAPE,
  );
  return buffer;
}

function streamBytes(s: StreamShape): number {
  // Slot data is padded to 4 bytes so the next stream's words stay aligned.
  return s.slots * 8 + s.slots * Math.ceil(s.slotBytes / 4) * 4;
}

/** One side's view of a link. */
export class ThreadLink {
  readonly #control: Int32Array;
  readonly toWorker: ByteStream;
  readonly toMain: ByteStream;
  /** Main → worker: answers, one at a time, each to the question the worker waits on. */
  readonly answers: ByteStream;

  constructor(buffer: SharedArrayBuffer) {
    const control = new Int32Array(buffer, 0, CONTROL_WORDS);
    this.#control = control;
    const toWorker = { slots: control[SHAPE], slotBytes: control[SHAPE + 1] };
    const toMain = { slots: control[SHAPE + 2], slotBytes: control[SHAPE + 3] };
    const answers = { slots: control[SHAPE + 4], slotBytes: control[SHAPE + 5] };
    const ring = () => this.#ring();
    let offset = CONTROL_WORDS * 4;
    this.toWorker = new ByteStream(buffer, offset, toWorker, ring);
    offset += streamBytes(toWorker);
    this.toMain = new ByteStream(buffer, offset, toMain, ring);
    offset += streamBytes(toMain);
    this.answers = new ByteStream(buffer, offset, answers, ring);
  }

  /** Worker side: tells the main side the worker is running. */
  signalReady(): void {
    Atomics.store(this.#control, READY, 1);
    this.#ring();
  }

  get ready(): boolean {
    return Atomics.load(this.#control, READY) === 1;
  }

  /** Main side: asks the worker to stop at its next wait. */
  cancel(): void {
    Atomics.store(this.#control, CANCELLED, 1);
    this.#ring();
  }

  get cancelled(): boolean {
    return Atomics.load(this.#control, CANCELLED) === 1;
  }

  /**
   * Blocks until `done()` holds, re-checking each time the other side rings. `stalled` is asked
   * after each wait that changed nothing and may throw to give up.
   */
  until(done: () => boolean, stalled?: () => void): void {
    for (;;) {
      const seen = Atomics.load(this.#control, BELL);
      if (done()) return;
      if (this.cancelled) throw new LinkCancelled();
      if (Atomics.wait(this.#control, BELL, seen, WAIT_SLICE_MS) === "timed-out") stalled?.();
    }
  }

  #ring(): void {
    Atomics.add(this.#control, BELL, 1);
    Atomics.notify(this.#control, BELL);
  }
}

/**
 * One direction of a link. The writing side fills slots in order, the reading side empties them
 * in the same order; each side keeps its own position.
 */
export class ByteStream {
  readonly #words: Int32Array;
  readonly #data: Uint8Array;
  readonly #slots: number;
  readonly #slotBytes: number;
  readonly #stride: number;
  readonly #ring: () => void;
  readonly #encoder = new TextEncoder();
  #next = 0;
  #ended = false;

  constructor(buffer: SharedArrayBuffer, offset: number, shape: StreamShape, ring: () => void) {
    this.#slots = shape.slots;
    this.#slotBytes = shape.slotBytes;
    this.#stride = Math.ceil(shape.slotBytes / 4) * 4;
    this.#words = new Int32Array(buffer, offset, shape.slots * 2);
    this.#data = new Uint8Array(buffer, offset + shape.slots * 8, shape.slots * this.#stride);
    this.#ring = ring;
  }

  /** Writer: whether the next slot is free. */
  get hasRoom(): boolean {
    return Atomics.load(this.#words, this.#next * 2) === EMPTY;
  }

  /** Writer: copies as much of `bytes` as one slot holds; returns how many (0 when full). */
  tryWrite(bytes: Uint8Array): number {
    if (!this.hasRoom) return 0;
    const n = Math.min(bytes.byteLength, this.#slotBytes);
    this.#slot().set(bytes.subarray(0, n));
    this.#publish(n);
    return n;
  }

  /**
   * Writer: encodes as much of `text` as one slot holds as UTF-8 (never splitting a character);
   * returns how many UTF-16 code units went in (0 when full).
   */
  tryWriteText(text: string): number {
    if (!this.hasRoom) return 0;
    const { read, written } = this.#encoder.encodeInto(text, this.#slot());
    this.#publish(written);
    return read;
  }

  /** Writer: marks the end of the stream; false when no slot is free yet. */
  tryEnd(): boolean {
    if (!this.hasRoom) return false;
    this.#publish(END);
    return true;
  }

  /** Reader: whether a slot (data or the end) is waiting. */
  get hasData(): boolean {
    return !this.#ended && Atomics.load(this.#words, this.#next * 2) === FULL;
  }

  /** Reader: whether the end has been read. */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Reader: hands the next slot's bytes to `use` (a view into shared memory, valid only during
   * the call: nothing is copied), then frees the slot. Returns false when no slot is waiting;
   * at the end, `use` is not called and `ended` becomes true.
   */
  tryRead(use: (bytes: Uint8Array) => void): boolean {
    if (!this.hasData) return false;
    const i = this.#next * 2;
    const length = Atomics.load(this.#words, i + 1);
    if (length === END) this.#ended = true;
    else use(this.#slot().subarray(0, length));
    Atomics.store(this.#words, i, EMPTY);
    this.#next = (this.#next + 1) % this.#slots;
    this.#ring();
    return true;
  }

  #slot(): Uint8Array {
    const start = this.#next * this.#stride;
    return this.#data.subarray(start, start + this.#slotBytes);
  }

  #publish(length: number): void {
    const i = this.#next * 2;
    Atomics.store(this.#words, i + 1, length);
    Atomics.store(this.#words, i, FULL);
    this.#next = (this.#next + 1) % this.#slots;
    this.#ring();
  }
}
