import { describe, expect, it } from 'vitest';
import { FrameDecoder } from '../../src/engine/docker/frames.js';
import { LineSplitter, OutputCollector, TRUNCATION_MARKER } from '../../src/engine/streams.js';

function frame(type: number, payload: string | Buffer): Buffer {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(data.length, 4);
  return Buffer.concat([header, data]);
}

describe('FrameDecoder', () => {
  it('reassembles frames split at every byte', () => {
    const bytes = Buffer.concat([frame(1, 'out'), frame(2, 'err'), frame(1, '')]);
    const decoder = new FrameDecoder();
    const frames = [...bytes].flatMap((b) => decoder.push(Buffer.from([b])));
    expect(frames.map((f) => [f.stream, f.data.toString()])).toEqual([
      ['stdout', 'out'],
      ['stderr', 'err'],
    ]);
    expect(decoder.leftover).toBe(0);
  });
});

describe('LineSplitter', () => {
  it('keeps a multi-byte character split across chunks', () => {
    const splitter = new LineSplitter('stdout');
    const euro = Buffer.from('a€b\n');
    const lines = [...splitter.push(euro.subarray(0, 2)), ...splitter.push(euro.subarray(2))];
    expect(lines).toEqual([{ stream: 'stdout', text: 'a€b', truncated: false }]);
  });

  it('caps long lines with a marker and drops the rest of them', () => {
    const splitter = new LineSplitter('stderr', 10);
    const lines = [...splitter.push(Buffer.from('0123456789abcdef')), ...splitter.push(Buffer.from('ghi\nnext\r\n'))];
    expect(lines).toEqual([
      { stream: 'stderr', text: `0123456789${TRUNCATION_MARKER}`, truncated: true },
      { stream: 'stderr', text: 'next', truncated: false },
    ]);
  });

  it('flushes an unterminated last line', () => {
    const splitter = new LineSplitter('stdout');
    expect(splitter.push(Buffer.from('tail'))).toEqual([]);
    expect(splitter.flush()).toEqual([{ stream: 'stdout', text: 'tail', truncated: false }]);
  });
});

describe('OutputCollector', () => {
  it('decodes per stream across frames and caps at a byte count', () => {
    const collector = new OutputCollector(6);
    const euro = Buffer.from('€');
    collector.push({ stream: 'stdout', data: euro.subarray(0, 1) });
    collector.push({ stream: 'stderr', data: Buffer.from('e') });
    collector.push({ stream: 'stdout', data: euro.subarray(1) });
    collector.push({ stream: 'stdout', data: Buffer.from('xyz') });
    collector.finish();
    expect(collector.text).toEqual({ stdout: '€xy', stderr: 'e' });
    // A character is placed in the combined output when it is complete.
    expect(collector.combined).toBe('e€xy');
    expect(collector.truncated).toBe(true);
    expect(collector.bytes).toBe(6);
  });
});
