// Version numbers for `xarxa info`, the report and metrics.json.

import fs from 'node:fs';
import path from 'node:path';
import { addon, packageRoot } from '../native.js';

export interface Versions {
  xarxa: string;
  node: string;
  napi: string;
  /** The native addon's own ABI number (undefined when the addon does not load). */
  addonAbi?: number;
}

let cachedVersion: string | undefined;

/** This package's version, from its package.json. */
export function xarxaVersion(): string {
  if (cachedVersion) return cachedVersion;
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version?: string };
    cachedVersion = pkg.version ?? 'unknown';
  } catch {
    cachedVersion = 'unknown';
  }
  return cachedVersion;
}

export function versions(): Versions {
  let addonAbi: number | undefined;
  try {
    addonAbi = addon().abiVersion;
  } catch {
    addonAbi = undefined;
  }
  return { xarxa: xarxaVersion(), node: process.versions.node, napi: process.versions.napi ?? 'unknown', addonAbi };
}
