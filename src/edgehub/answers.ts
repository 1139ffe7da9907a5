/**
 * Answers edge-hub gives itself, shaped as the API server's: `Status` objects for errors, JSON
 * bodies for cached objects and lists.
 */
import type { ServerResponse } from 'node:http';

/** A Kubernetes `Status` failure. */
export function statusBody(code: number, reason: string, message: string, details?: Record<string, unknown>): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

export function sendJson(res: ServerResponse, code: number, body: unknown, contentType = 'application/json', head = false): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-cache, private', 'x-gatehouse-edge-hub': 'cache' });
  res.end(head ? undefined : text);
}

export function sendStatus(res: ServerResponse, code: number, reason: string, message: string, details?: Record<string, unknown>): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, code, statusBody(code, reason, message, details));
}

/** Splits a byte stream into lines (watch streams are one JSON event per line). */
export class LineSplitter {
  private rest = '';
  push(chunk: string, onLine: (line: string) => void): void {
    const lines = (this.rest + chunk).split('\n');
    this.rest = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') onLine(line);
  }
}
