/** `gatehouse edge-hub`: being written (issue 6). */
export async function runEdgeHub(_argv: string[]): Promise<number> {
  process.stderr.write('gatehouse edge-hub: not built yet\n');
  return 1;
}
