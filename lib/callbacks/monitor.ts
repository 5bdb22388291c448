// Shared by EarlyStopping and ModelCheckpoint: which logged quantity to watch
// and whether smaller or larger is better (Keras' mode 'auto' | 'min' | 'max').

export type MonitorMode = 'auto' | 'min' | 'max';

export function checkMonitor(monitor: unknown, where: string): string {
  if (typeof monitor !== 'string' || monitor === '') {
    throw new TypeError(`${where}: monitor must be the name of a logged quantity such as 'val_loss', received ${JSON.stringify(monitor)}`);
  }
  return monitor;
}

/**
 * The direction under mode 'auto' as Keras 3 decides it: the loss is minimised,
 * the accuracy (xarxa's one metric, by any of its names) maximised, with or
 * without 'val_'; for any other quantity the mode must be given.
 */
export function resolveMode(mode: unknown, monitor: string, where: string): 'min' | 'max' {
  if (mode === undefined || mode === 'auto') {
    const metric = monitor.replace(/^val_/, '');
    if (metric === 'loss') return 'min';
    if (['accuracy', 'acc', 'categorical_accuracy'].includes(metric)) return 'max';
    throw new Error(
      `${where}: cannot tell whether '${monitor}' should be maximised or minimised; pass mode: 'max' or mode: 'min' (as Keras asks)`,
    );
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
export function missingMonitor(where: string, monitor: string, logs: Record<string, number> | undefined, instead = 'does nothing this epoch'): string {
  const available = Object.keys(logs ?? {}).join(', ') || 'none';
  return `${where} is conditioned on '${monitor}', which is not in the logs (available: ${available}); it ${instead}`;
}
