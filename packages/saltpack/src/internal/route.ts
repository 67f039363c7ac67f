/**
 * A stream pair whose inner pipeline is chosen from the first bytes of input (armored or binary,
 * encryption or signcryption). Output is pulled from the inner pipeline on demand, so
 * backpressure and memory bounds carry through.
 */

/** A readable/writable pair. */
export interface StreamPair {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
}

/**
 * Builds a routed stream. `decide(prefix, ended)` returns the inner pipeline once the prefix is
 * enough to choose (it must choose when `ended`), or `null` to wait for more bytes.
 */
export function createRoutedStream(
  decide: (prefix: Uint8Array, ended: boolean) => StreamPair | null,
): StreamPair {
  let buffered = new Uint8Array(0);
  let writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  let resolveReader!: (r: ReadableStreamDefaultReader<Uint8Array>) => void;
  let rejectReader!: (e: unknown) => void;
  const reader = new Promise<ReadableStreamDefaultReader<Uint8Array>>((res, rej) => {
    resolveReader = res;
    rejectReader = rej;
  });
  reader.catch(() => undefined);

  const choose = async (ended: boolean): Promise<boolean> => {
    let inner: StreamPair | null;
    try {
      inner = decide(buffered, ended);
    } catch (e) {
      rejectReader(e);
      throw e;
    }
    if (!inner) return false;
    writer = inner.writable.getWriter();
    resolveReader(inner.readable.getReader());
    const first = buffered;
    buffered = new Uint8Array(0);
    if (first.length > 0) await writer.write(first);
    return true;
  };

  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      if (writer) {
        await writer.write(chunk);
        return;
      }
      const next = new Uint8Array(buffered.length + chunk.length);
      next.set(buffered);
      next.set(chunk, buffered.length);
      buffered = next;
      await choose(false);
    },
    async close() {
      if (!writer) await choose(true);
      await writer!.close();
    },
    async abort(reason) {
      if (writer) await writer.abort(reason);
      else rejectReader(reason);
    },
  });
  const readable = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const r = await reader;
        const { done, value } = await r.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      async cancel(reason) {
        const r = await reader.catch(() => undefined);
        await r?.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  return { readable, writable };
}
