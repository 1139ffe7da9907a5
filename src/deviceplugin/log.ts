/** The device plugin's logger: the CLI passes its JSON-lines logger; tests pass their own. */
export type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
