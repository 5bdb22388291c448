// Keras-style model summary:
//   Model: "sequential"
//   _________________________________________________________________
//    Layer (type)                Output Shape              Param #
//   =================================================================
//    dense (Dense)               (None, 32)                25120
import type { Layer } from '../layers/layer.js';
import type { DeviceInfo, NativeLayerInfo } from '../native.js';

const WIDTHS = [29, 26, 10];

function row(cells: string[]): string {
  return ' ' + cells.map((c, i) => c.padEnd(WIDTHS[i] - 1)).join(' ').trimEnd();
}

export function formatShape(shape: number[]): string {
  return `(None, ${shape.join(', ')})`;
}

export function describeDevice(info: DeviceInfo): string {
  if (info.backend === 'cpu') return `cpu (${info.name}, ${info.threads} thread${info.threads === 1 ? '' : 's'}, ${info.gemm})`;
  const gib = (info.totalMemory / 2 ** 30).toFixed(1);
  return `cuda:${info.deviceIndex} (${info.name}, compute ${info.computeCapability}, ${gib} GiB)`;
}

export function formatSummary(name: string, layers: Layer[], native: NativeLayerInfo[], device: DeviceInfo): string {
  const line = '_'.repeat(65);
  const out = [`Model: "${name}"`, line, row(['Layer (type)', 'Output Shape', 'Param #']), '='.repeat(65)];
  let total = 0;
  native.forEach((info, i) => {
    const params = info.weights.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
    total += params;
    out.push(row([`${layers[i].name} (${info.kind})`, formatShape(info.outputShape), String(params)]));
    if (i < native.length - 1) out.push('');
  });
  out.push('='.repeat(65));
  out.push(`Total params: ${total.toLocaleString('en-US')}`);
  out.push(`Trainable params: ${total.toLocaleString('en-US')}`);
  out.push('Non-trainable params: 0');
  out.push(line);
  out.push(`Device: ${describeDevice(device)}`);
  return out.join('\n');
}
