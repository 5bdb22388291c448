// `xarxa info`: versions, the backend models are built on, the CPU, and CUDA.

import os from 'node:os';
import { cudaStatus, getBackend, info } from '../backend.js';
import { versions } from '../run/versions.js';

/** The N-API version the addon is compiled against (CMakeLists.txt: NAPI_VERSION=8; package.json binary.napi_versions). */
const NAPI_BUILD = 8;

const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

/** CUDA version numbers come as 12040 (runtime/driver) or 90100 (cuDNN); 0 means none. */
function cudaVersion(n: number): string {
  if (!n) return 'none';
  return `${Math.floor(n / 1000)}.${Math.floor((n % 1000) / 10)}`;
}

function cudnnVersion(n: number): string {
  if (!n) return 'none';
  if (n >= 10000) return `${Math.floor(n / 10000)}.${Math.floor((n % 10000) / 100)}.${n % 100}`;
  return `${Math.floor(n / 1000)}.${Math.floor((n % 1000) / 100)}.${n % 100}`;
}

export function infoText(): string {
  const v = versions();
  const lines: string[] = [];
  lines.push(`xarxa ${v.xarxa}`);
  lines.push(`node ${v.node}, N-API ${v.napi}`);
  lines.push(v.addonAbi !== undefined ? `native addon: loaded (addon ABI ${v.addonAbi}, built for N-API ${NAPI_BUILD})` : 'native addon: not loaded');
  lines.push(`platform: ${process.platform}-${process.arch}, ${os.release()}`);
  const cpus = os.cpus();
  lines.push(`CPU: ${cpus[0]?.model?.trim() ?? 'unknown'} (${cpus.length} logical cores), ${gib(os.totalmem())} memory`);
  let backend: string;
  try {
    backend = getBackend();
  } catch (err) {
    backend = `error: ${(err as Error).message}`;
  }
  lines.push(`backend: ${backend}${process.env.XARXA_DEVICE ? ` (XARXA_DEVICE=${process.env.XARXA_DEVICE})` : ''}`);
  try {
    const cpu = info('cpu');
    lines.push(`  cpu backend: ${cpu.name}, ${cpu.threads} threads, gemm: ${cpu.gemm}`);
  } catch (err) {
    lines.push(`  cpu backend: unavailable (${(err as Error).message})`);
    return lines.join('\n');
  }
  const cuda = cudaStatus();
  if (cuda.available) {
    lines.push(`CUDA: available, ${cuda.deviceCount} device${cuda.deviceCount === 1 ? '' : 's'}${cuda.library ? ` (plugin ${cuda.library})` : ''}`);
    for (let i = 0; i < cuda.deviceCount; i++) {
      try {
        const d = info(`cuda:${i}`);
        lines.push(`  cuda:${i}: ${d.name}, compute capability ${d.computeCapability}, ${gib(d.totalMemory)} (${gib(d.freeMemory)} free)`);
        if (i === 0) {
          lines.push(
            `  CUDA runtime ${cudaVersion(d.cudaRuntimeVersion)}, driver ${cudaVersion(d.cudaDriverVersion)}, cuBLAS ${d.cublasVersion || 'none'}, cuDNN ${cudnnVersion(d.cudnnVersion)}`,
            `  training steps as CUDA graphs: ${d.stepGraphs ?? 'unknown'}`,
          );
        }
      } catch (err) {
        lines.push(`  cuda:${i}: ${(err as Error).message}`);
      }
    }
  } else {
    lines.push(`CUDA: not available (${cuda.error || 'no reason given'})`);
  }
  return lines.join('\n');
}
