import type { Frame } from '../streams.js';

const FRAME_HEADER = 8;

/**
 * Incremental decoder for the engine's multiplexed stream format (8-byte header: stream type,
 * three zero bytes, big-endian payload length). Used instead of dockerode's demuxStream, which
 * neither ends its outputs nor applies backpressure. Frames split across chunks are reassembled.
 */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: Frame[] = [];
    while (this.pending.length >= FRAME_HEADER) {
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < FRAME_HEADER + size) break;
      const type = this.pending[0];
      const data = this.pending.subarray(FRAME_HEADER, FRAME_HEADER + size);
      this.pending = this.pending.subarray(FRAME_HEADER + size);
      // 0 (stdin echo) and 1 are output; 2 is stderr; 3 is the engine's own error text.
      if (size > 0) frames.push({ stream: type === 2 || type === 3 ? 'stderr' : 'stdout', data });
    }
    return frames;
  }

  /** Bytes of an incomplete trailing frame, if the stream ended inside one. */
  get leftover(): number {
    return this.pending.length;
  }
}

/** A decoder per output: raw TTY streams are all stdout; multiplexed ones are split. */
export function frameReader(tty: boolean): (chunk: Buffer) => Frame[] {
  if (tty) return (chunk) => (chunk.length ? [{ stream: 'stdout', data: chunk }] : []);
  const decoder = new FrameDecoder();
  return (chunk) => decoder.push(chunk);
}
