// Layer configuration semantics that users porting Keras code rely on.
import { describe, it, expect } from 'vitest';
import * as xa from '../../lib/index.js';

describe('layer configuration (Keras defaults and forms)', () => {
  it('imageDataFormat answers like K.image_data_format() and sets the default of image layers', () => {
    expect(xa.backend.imageDataFormat()).toBe('channels_last');
    expect(new xa.layers.Conv2D(4, 3).dataFormat).toBe('channelsLast');
    xa.backend.setImageDataFormat('channels_first');
    try {
      expect(xa.backend.imageDataFormat()).toBe('channels_first');
      expect(new xa.layers.MaxPooling2D().dataFormat).toBe('channelsFirst');
    } finally {
      xa.backend.setImageDataFormat('channels_last');
    }
  });

  it('accepts the positional and object forms of Conv2D, and pooling strides default to the pool size', () => {
    const a = new xa.layers.Conv2D(32, [2, 2], { strides: 2, padding: 'same', activation: 'relu' });
    const b = new xa.layers.Conv2D({ filters: 32, kernelSize: 2, strides: [2, 2], padding: 'same', activation: 'relu' });
    expect([a.filters, a.kernelSize, a.strides, a.padding]).toEqual([b.filters, b.kernelSize, b.strides, b.padding]);
    expect(new xa.layers.MaxPooling2D({ poolSize: [3, 2] }).strides).toEqual([3, 2]);
    expect(new xa.layers.AveragePooling2D({ poolSize: 2, strides: 1 }).strides).toEqual([1, 1]);
    expect(() => new xa.layers.Conv2D(8, 0)).toThrow(/kernelSize must be a positive integer/);
    expect(() => new xa.layers.MaxPooling2D({ padding: 'full' as never })).toThrow(/padding must be 'valid' or 'same'/);
  });

  it("takes a pooling layer's size first, as Keras' MaxPooling2D((3, 3)) does, and refuses options that are not an object", () => {
    expect(new xa.layers.MaxPooling2D(3).poolSize).toEqual([3, 3]);
    expect(new xa.layers.MaxPooling2D(3).strides).toEqual([3, 3]);
    const p = new xa.layers.AveragePooling2D([3, 2], { strides: 1, padding: 'same' });
    expect([p.poolSize, p.strides, p.padding]).toEqual([[3, 2], [1, 1], 'same']);
    // A number where the options belong once gave a layer with every option at its default.
    expect(() => new xa.layers.Flatten(2 as never)).toThrow(/Flatten: expected an options object/);
    expect(() => new xa.layers.MaxPooling2D(0)).toThrow(/poolSize must be a positive integer/);
    // ... and a value after the leading ones was dropped without a word (Keras would read MaxPooling2D(2, 1) as strides 1).
    expect(() => new xa.layers.MaxPooling2D(2, 1 as never)).toThrow(/MaxPooling2D: expected an options object after the leading values, received 1/);
    expect(() => new xa.layers.Conv2D(8, 3, 2 as never)).toThrow(/Conv2D: expected an options object after the leading values, received 2/);
    expect(() => new xa.layers.Dense(10, 'relu' as never)).toThrow(/Dense: expected an options object after the leading values, received "relu"/);
    expect(() => new xa.layers.Dropout(0.5, 1 as never)).toThrow(/Dropout: expected an options object/);
    expect(() => new xa.layers.MaxPooling2D({ poolSize: 3 }, { strides: 1 })).toThrow(/MaxPooling2D: options were given twice/);
    expect(() => new xa.layers.MaxPooling2D(null as never)).toThrow(/MaxPooling2D: expected a value or an options object, received null/);
    expect(new xa.layers.MaxPooling2D(undefined, { strides: 1 }).strides).toEqual([1, 1]);
  });

  it('computes TF output shapes for the notebook CNN (same padding, asymmetric pooling) and 19,050 parameters', () => {
    const { Conv2D, MaxPooling2D, Flatten, Dense } = xa.layers;
    const nn = new xa.Sequential();
    nn.add(new Conv2D(32, [2, 2], { strides: 2, padding: 'same', activation: 'relu', inputShape: [32, 32, 3] }));
    nn.add(new MaxPooling2D({ poolSize: [2, 2], strides: 1, padding: 'same' }));
    nn.add(new Conv2D(16, [2, 2], { strides: 2, padding: 'same', activation: 'relu' }));
    nn.add(new MaxPooling2D({ poolSize: [2, 2], strides: 1, padding: 'same' }));
    nn.add(new Flatten());
    nn.add(new Dense(16, { activation: 'relu' }));
    nn.add(new Dense(10, { activation: 'softmax' }));
    const lines: string[] = [];
    nn.summary((l) => lines.push(l));
    const text = lines.join('\n');
    expect(text).toMatch(/\(None, 16, 16, 32\)\s+416/);
    expect(text).toMatch(/\(None, 8, 8, 16\)\s+2064/);
    expect(text).toMatch(/\(None, 1024\)\s+0/);
    expect(text).toMatch(/Total params: 19,050/);
    // 'valid' with odd sizes: out = floor((in - k) / s) + 1.
    const v = new xa.Sequential();
    v.add(new Conv2D(2, 3, { strides: 2, inputShape: [7, 6, 1] }));
    expect(v.outputShape).toEqual([3, 2, 2]);
    nn.dispose();
    v.dispose();
  });
});
