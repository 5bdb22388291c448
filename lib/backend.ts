// Device choice: xa.setBackend('cuda' | 'cuda:N' | 'cpu'), XARXA_DEVICE, and by
// default CUDA when a usable GPU is present, else the CPU.
import { addon, type DeviceInfo } from './native.js';

let chosen: string | undefined;

function normalise(device: string, where: string): string {
  if (typeof device !== 'string') throw new TypeError(`${where}: device must be a string like 'cpu', 'cuda' or 'cuda:0'`);
  const d = device.trim().toLowerCase();
  if (d === 'cpu') return 'cpu';
  if (d === 'cuda' || d === 'gpu') return 'cuda:0';
  if (/^cuda:\d+$/.test(d)) return d;
  throw new Error(`${where}: unknown device '${device}' (expected 'cpu', 'cuda' or 'cuda:N')`);
}

/** Status of the CUDA backend on this machine (never throws). */
export function cudaStatus(): { available: boolean; deviceCount: number; error: string; library: string } {
  return addon().cudaStatus();
}

/**
 * Chooses the device for models built from now on. 'cuda' fails here, with the
 * reason, when no usable GPU, driver or CUDA library is present.
 */
export function setBackend(device: 'cpu' | 'cuda' | string): void {
  chosen = usable(normalise(device, 'setBackend'), `setBackend('${device}')`);
}

/** `d` itself when it is the CPU or a CUDA device that is there and usable; else an error naming why. */
function usable(d: string, where: string): string {
  if (!d.startsWith('cuda')) return d;
  const status = cudaStatus();
  if (!status.available) throw new Error(`${where}: CUDA is not usable: ${status.error}`);
  const index = Number(d.slice(5));
  if (index >= status.deviceCount) throw new Error(`${where}: CUDA device ${index} does not exist (${status.deviceCount} found)`);
  return d;
}

/** The device models are built on: 'cpu' or 'cuda:N'. */
export function getBackend(): string {
  if (chosen) return chosen;
  const env = process.env.XARXA_DEVICE;
  if (env && env.trim() !== '') return (chosen = usable(normalise(env, 'XARXA_DEVICE'), `XARXA_DEVICE=${env}`));
  return (chosen = cudaStatus().available ? 'cuda:0' : 'cpu');
}

/** Details of the current device: name, compute capability, memory, library versions. */
export function info(device?: string): DeviceInfo {
  return addon().deviceInfo(device ? normalise(device, 'backend.info') : getBackend());
}

export type DataFormat = 'channelsLast' | 'channelsFirst';
let dataFormat: DataFormat = 'channelsLast';

/** Reads 'channelsLast' | 'channelsFirst' and Keras' spellings 'channels_last' | 'channels_first'. */
export function parseDataFormat(value: unknown, where: string): DataFormat {
  if (value === undefined || value === null) return dataFormat;
  if (value === 'channelsLast' || value === 'channels_last') return 'channelsLast';
  if (value === 'channelsFirst' || value === 'channels_first') return 'channelsFirst';
  throw new Error(`${where}: dataFormat must be 'channelsLast' or 'channelsFirst', received '${String(value)}'`);
}

/** Answers like Keras' K.image_data_format(): 'channels_last' (the default) or 'channels_first'. */
export function imageDataFormat(): 'channels_last' | 'channels_first' {
  return dataFormat === 'channelsLast' ? 'channels_last' : 'channels_first';
}

/** Like K.set_image_data_format(): the default dataFormat of image layers built afterwards. */
export function setImageDataFormat(format: string): void {
  dataFormat = parseDataFormat(format, 'setImageDataFormat');
}
