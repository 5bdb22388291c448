// The format readers on small files written by test/datasets/fixtures.ts,
// and their errors on corrupt or truncated variants.

import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, gunzip, DatasetFileError } from '../../lib/datasets/bytes.js';
import { parseIdx } from '../../lib/datasets/idx.js';
import { parseNpy } from '../../lib/datasets/npy.js';
import { NdArray, parsePickle } from '../../lib/datasets/pickle.js';
import { readTar } from '../../lib/datasets/tar.js';
import { listZip, readZip } from '../../lib/datasets/zip.js';
import { PickleWriter, bytes, writeIdx, writeNpy, writeTar, writeZip } from './fixtures.js';

describe('crc32', () => {
  it('matches the standard check value', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });
});

describe('zip', () => {
  const a = bytes(5000, 1, 4); // compressible
  const b = bytes(300, 2);

  it('reads stored, deflate and zip64 entries', async () => {
    const zip = writeZip([
      { name: 'a.bin', data: a, method: 8, zip64: true },
      { name: 'b.bin', data: b, method: 0 },
    ]);
    expect(listZip(zip, 'z.zip').map((e) => [e.name, e.method, e.size])).toEqual([
      ['a.bin', 8, 5000],
      ['b.bin', 0, 300],
    ]);
    const entries = await readZip(zip, 'z.zip');
    expect(Buffer.from(entries.get('a.bin')!).equals(Buffer.from(a))).toBe(true);
    expect(Buffer.from(entries.get('b.bin')!).equals(Buffer.from(b))).toBe(true);
  });

  it('reports a CRC mismatch', async () => {
    const zip = writeZip([{ name: 'b.bin', data: b, method: 0 }]);
    zip[30 + 5 + 10] ^= 0xff; // a data byte of the stored entry
    await expect(readZip(zip, 'z.zip')).rejects.toThrow(/z\.zip \(entry b\.bin\): CRC-32 mismatch/);
  });

  it('reports corrupt deflate data', async () => {
    const zip = writeZip([{ name: 'a.bin', data: a, method: 8 }]);
    zip.fill(0xff, 30 + 5, 30 + 5 + 8);
    await expect(readZip(zip, 'z.zip')).rejects.toThrow(/z\.zip \(entry a\.bin\): .*corrupt/);
  });

  it('reports truncation and non-zip input', async () => {
    const zip = writeZip([{ name: 'a.bin', data: a }]);
    await expect(readZip(zip.subarray(0, zip.length - 30), 'z.zip')).rejects.toThrow(/z\.zip: .*(truncated|end-of-central-directory)/);
    await expect(readZip(Buffer.from('hello world, not a zip file at all'), 'z.zip')).rejects.toThrow(/not a zip file/);
  });
});

describe('npy', () => {
  it('parses uint8 arrays', () => {
    const data = bytes(24, 3);
    const arr = parseNpy(writeNpy([2, 3, 4], data), 'a.npy');
    expect(arr.shape).toEqual([2, 3, 4]);
    expect(Array.from(arr.data)).toEqual(Array.from(data));
    expect(parseNpy(writeNpy([5], bytes(5, 1)), 'b.npy').shape).toEqual([5]);
    expect(parseNpy(writeNpy([], Uint8Array.of(7)), 'c.npy').shape).toEqual([]);
  });

  it('rejects other dtypes, bad magic and truncated data', () => {
    expect(() => parseNpy(writeNpy([2], bytes(16, 1), '<i8'), 'a.npy')).toThrow(/a\.npy: dtype '<i8' is not supported/);
    expect(() => parseNpy(Buffer.from('PK\x03\x04 not npy'), 'a.npy')).toThrow(/a\.npy: not a \.npy array/);
    const full = writeNpy([4, 4], bytes(16, 2));
    expect(() => parseNpy(full.subarray(0, full.length - 3), 'a.npy')).toThrow(/a\.npy: truncated: shape \(4, 4\) needs 16 bytes of data, found 13/);
  });
});

describe('idx', () => {
  it('parses images and labels', () => {
    const images = parseIdx(writeIdx([2, 28, 28], bytes(2 * 784, 1)), 'i', 3);
    expect(images.shape).toEqual([2, 28, 28]);
    expect(parseIdx(writeIdx([3], Uint8Array.of(1, 2, 3)), 'l', 1).data).toEqual(Uint8Array.of(1, 2, 3));
  });

  it('rejects a wrong magic, truncated data and extra bytes', () => {
    const labels = writeIdx([3], Uint8Array.of(1, 2, 3));
    expect(() => parseIdx(labels, 'labels.idx', 3)).toThrow(/labels\.idx: wrong magic number 0x00000801, expected 0x00000803/);
    expect(() => parseIdx(labels.subarray(0, 10), 'labels.idx', 1)).toThrow(/labels\.idx: truncated: header says \[3\] = 3 bytes of data, found 2/);
    expect(() => parseIdx(Buffer.concat([labels, Buffer.from([0])]), 'labels.idx', 1)).toThrow(/1 unexpected bytes/);
  });
});

describe('gzip', () => {
  it('reports truncated and corrupt gzip data with the file name', async () => {
    const gz = zlib.gzipSync(bytes(10000, 5));
    await expect(gunzip(gz.subarray(0, gz.length - 100), 'x.gz')).rejects.toThrow(/x\.gz: not a valid gzip file .*truncated or corrupt/);
    const bad = Buffer.from(gz);
    bad[bad.length - 6] ^= 0xff; // inside the CRC-32 trailer
    await expect(gunzip(bad, 'x.gz')).rejects.toThrow(DatasetFileError);
  });
});

describe('tar', () => {
  const long = `dir/${'n'.repeat(120)}.bin`;
  const files = [
    { name: 'cifar-10-batches-py/a', data: bytes(700, 1) },
    { name: 'cifar-10-batches-py/empty', data: new Uint8Array(0) },
    { name: long, data: bytes(10, 2) },
  ];

  it('lists regular files with their contents, GNU long names included', () => {
    const out = readTar(writeTar(files), 'x.tar');
    expect(out.map((f) => f.name)).toEqual(files.map((f) => f.name));
    expect(Buffer.from(out[0].data).equals(Buffer.from(files[0].data))).toBe(true);
    expect(out[1].data.length).toBe(0);
  });

  it('reports a bad header checksum and truncation', () => {
    const tar = writeTar(files);
    const bad = Buffer.from(tar);
    bad[5] ^= 1; // a byte of the first header's name
    expect(() => readTar(bad, 'x.tar')).toThrow(/x\.tar: bad tar header checksum at byte 0/);
    expect(() => readTar(tar.subarray(0, 1024 + 300), 'x.tar')).toThrow(/x\.tar: truncated: entry cifar-10-batches-py\/a needs 700 bytes/);
  });
});

describe('pickle', () => {
  const labels = [3, 1, 4];
  const data = bytes(3 * 3072, 9);

  for (const style of ['py2', 'py3'] as const) {
    it(`reads a CIFAR batch written in ${style} style`, () => {
      const batch = parsePickle(new PickleWriter(style).cifarBatch(labels, data), 'data_batch_1') as Map<string, unknown>;
      expect([...batch.keys()]).toEqual(['batch_label', 'labels', 'data', 'filenames']);
      expect(batch.get('labels')).toEqual(labels);
      const arr = batch.get('data') as NdArray;
      expect(arr).toBeInstanceOf(NdArray);
      expect(arr.shape).toEqual([3, 3072]);
      expect(arr.dtype).toBe('u1');
      expect(Buffer.from(arr.data).equals(Buffer.from(data))).toBe(true);
      expect((batch.get('filenames') as unknown[]).length).toBe(3);
    });
  }

  it('reads ints of every width, memo and a long list in APPENDS batches', () => {
    // {u'a': [1, 300, 70000, -5, 2**40, True, None], u'b': <memo of a's list>}
    const p = Buffer.concat([
      Buffer.from([0x80, 2, 0x7d, 0x71, 0, 0x28]),
      Buffer.from([0x58, 1, 0, 0, 0, 0x61, 0x71, 1, 0x5d, 0x71, 2, 0x28, 0x4b, 1, 0x4d, 0x2c, 0x01, 0x4a, 0x70, 0x11, 0x01, 0x00]),
      Buffer.from([0x4a, 0xfb, 0xff, 0xff, 0xff, 0x8a, 6, 0, 0, 0, 0, 0, 1, 0x88, 0x4e, 0x65]),
      Buffer.from([0x8c, 1, 0x62, 0x68, 2, 0x75, 0x2e]),
    ]);
    const out = parsePickle(p, 'p') as Map<string, unknown>;
    expect(out.get('a')).toEqual([1, 300, 70000, -5, 2 ** 40, true, null]);
    expect(out.get('b')).toBe(out.get('a'));
    const big = new PickleWriter();
    const many = Array.from({ length: 2500 }, (_, i) => i % 10);
    const batch = parsePickle(big.cifarBatch(many, bytes(2500 * 3072, 1)), 'big') as Map<string, unknown>;
    expect(batch.get('labels')).toEqual(many);
  });

  it('refuses unknown callables and reports truncation', () => {
    const evil = Buffer.from('\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03.', 'latin1');
    expect(() => parsePickle(evil, 'evil')).toThrow(/evil: refusing to call os\.system/);
    const good = new PickleWriter().cifarBatch(labels, data);
    expect(() => parsePickle(good.subarray(0, good.length - 2000), 'data_batch_1')).toThrow(/data_batch_1: unexpected end of data .*truncated/);
    expect(() => parsePickle(Buffer.from([0x80, 2, 0xff]), 'x')).toThrow(/unsupported pickle opcode 0xff/);
  });
});
