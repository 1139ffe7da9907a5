/** `gatehouse autonomy`: being written (issue 6). */
export async function runAutonomy(_argv: string[]): Promise<number> {
  process.stderr.write('gatehouse autonomy: not built yet\n');
  return 1;
}
