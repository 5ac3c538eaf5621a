/**
 * Worker thread that reads and maps one large document while the main thread journals: bytes
 * arrive over a ThreadLink, mapping events go back as lines (mapping_lines.ts). It touches no
 * file and no database; everything it decides is applied by the main thread, in order, and what
 * it needs from the journal (what a position cost) it asks the main thread for.
 *
 * Started by MappingThread (mapping_thread.ts). `deno compile` must include this file
 * (scripts/compile.ts), since nothing imports it statically.
 */
import { mappingReader } from "./mapping_events.ts";
import { MappingLineWriter } from "./mapping_lines.ts";
import { LinkCancelled, ThreadLink } from "./thread_link.ts";

/** What MappingThread posts to start the worker. */
export interface MapWorkerStart {
  readonly buffer: SharedArrayBuffer;
  /** The document's origin, for messages. */
  readonly origin: string;
}

/** Bytes handed to the reader at a time, so events go back in small batches as they arise. */
const FEED_BYTES = 64 * 1024;

const scope = self as unknown as {
  onmessage: ((event: MessageEvent<MapWorkerStart>) => void) | null;
  close(): void;
};

scope.onmessage = (event) => {
  scope.onmessage = null;
  const link = new ThreadLink(event.data.buffer);
  link.signalReady();
  try {
    mapDocument(link, event.data.origin);
  } catch (e) {
    // Cancelled: the main thread has stopped listening, so there is nobody to tell.
    if (!(e instanceof LinkCancelled)) throw e;
  }
  scope.close();
};

function mapDocument(link: ThreadLink, origin: string): void {
  const lines = new MappingLineWriter((question) => {
    send(link, question);
    return receiveAnswer(link);
  });
  try {
    const reader = mappingReader(origin, lines);
    for (;;) {
      link.until(() => link.toWorker.hasData);
      link.toWorker.tryRead((bytes) => {
        for (let at = 0; at < bytes.byteLength; at += FEED_BYTES) {
          reader.write(bytes.subarray(at, at + FEED_BYTES));
          send(link, lines.take());
        }
      });
      if (link.toWorker.ended) break;
    }
    lines.done(reader.close());
  } catch (e) {
    if (e instanceof LinkCancelled) throw e;
    lines.failed(e);
  }
  send(link, lines.take());
  link.until(() => link.toMain.tryEnd());
}

/** Waits for the main thread's answer to the question just sent (it ends with an empty line). */
function receiveAnswer(link: ThreadLink): string {
  const decoder = new TextDecoder();
  let text = "";
  while (!text.endsWith("\n\n")) {
    link.until(() => link.answers.hasData);
    link.answers.tryRead((bytes) => text += decoder.decode(bytes, { stream: true }));
  }
  return text.slice(0, -1);
}

function send(link: ThreadLink, text: string): void {
  let at = 0;
  while (at < text.length) {
    link.until(() => link.toMain.hasRoom);
    at += link.toMain.tryWriteText(at === 0 ? text : text.slice(at));
  }
}
