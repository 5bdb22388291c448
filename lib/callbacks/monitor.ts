// Shared by EarlyStopping and ModelCheckpoint: which logged quantity to watch
// and whether smaller or larger is better (Keras' mode 'auto' | 'min' | 'max').

export type MonitorMode = 'auto' | 'min' | 'max';

export function checkMonitor(monitor: unknown, where: string): string {
  if (typeof monitor !== 'string' || monitor === '') {
    throw new TypeError(`${where}: monitor must be the name of a logged quantity such as 'val_loss', received ${JSON.stringify(monitor)}`);
  }
  return monitor;
}

/** 'max' for accuracy-like quantities under 'auto' (as Keras decides), else 'min'. */
export function resolveMode(mode: unknown, monitor: string, where: string): 'min' | 'max' {
  if (mode === undefined || mode === 'auto') {
    return /acc|auc|precision|recall|fmeasure/i.test(monitor) ? 'max' : 'min';
  }
  if (mode === 'min' || mode === 'max') return mode;
  throw new Error(`${where}: mode must be 'auto', 'min' or 'max', received ${JSON.stringify(mode)}`);
}

export function checkArgs(args: unknown, allowed: readonly string[], where: string): Record<string, unknown> {
  if (args === undefined) return {};
  if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new TypeError(`${where}: expected an options object`);
  for (const key of Object.keys(args)) {
    if (!allowed.includes(key)) throw new Error(`${where}: unknown option '${key}' (known: ${allowed.join(', ')})`);
  }
  return args as Record<string, unknown>;
}

/** The warning printed (once per fit) when the monitored quantity is missing from the logs. */
export function missingMonitor(where: string, monitor: string, logs: Record<string, number> | undefined): string {
  const available = Object.keys(logs ?? {}).join(', ') || 'none';
  return `${where} is conditioned on '${monitor}', which is not in the logs (available: ${available}); it does nothing this epoch`;
}
