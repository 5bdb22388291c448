// A download progress bar on stderr. On a terminal it redraws one line; when
// stderr is not a terminal (logs, CI) it prints a line every 10% instead.

const WIDTH = 30;

function megabytes(n: number): string {
  return (n / 1e6).toFixed(1);
}

export class ProgressBar {
  private lastDraw = 0;
  private lastTenth = -1;
  private readonly tty: boolean;

  constructor(private readonly label: string, private readonly total: number | undefined, private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.tty = Boolean(stream.isTTY);
  }

  update(done: number): void {
    if (this.tty) {
      const now = Date.now();
      if (now - this.lastDraw < 100) return;
      this.lastDraw = now;
      this.stream.write(`\r${this.line(done)}`);
    } else if (this.total) {
      const tenth = Math.floor((10 * done) / this.total);
      if (tenth > this.lastTenth && tenth < 10) {
        this.lastTenth = tenth;
        this.stream.write(`${this.line(done)}\n`);
      }
    }
  }

  finish(done: number): void {
    this.stream.write(this.tty ? `\r${this.line(done)}\n` : `${this.line(done)}\n`);
  }

  private line(done: number): string {
    if (!this.total) return `${this.label}  ${megabytes(done)} MB`;
    const fraction = Math.min(1, done / this.total);
    const filled = Math.round(fraction * WIDTH);
    const bar = '='.repeat(filled) + ' '.repeat(WIDTH - filled);
    const percent = String(Math.floor(fraction * 100)).padStart(3);
    return `${this.label}  [${bar}] ${percent}%  ${megabytes(done)}/${megabytes(this.total)} MB`;
  }
}
