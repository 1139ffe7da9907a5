/** Structured logs: one JSON object per line on stderr (`time`, `level`, `msg`, then fields). */
export type LogLevel = 'info' | 'warn' | 'error';

export function jsonLog(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }) + '\n');
}
