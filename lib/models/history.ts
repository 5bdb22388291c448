/** What fit() returns, as in Keras: per-epoch logs under history.history[key]. */
export class History {
  readonly epoch: number[] = [];
  readonly history: Record<string, number[]> = {};
  params: Record<string, unknown> = {};

  record(epoch: number, logs: Record<string, number>): void {
    this.epoch.push(epoch);
    for (const [key, value] of Object.entries(logs)) (this.history[key] ??= []).push(value);
  }
}
