// What the model kept for a question, in the user's terms: the kept cache
// positions (every layer and KV head) mapped back to files and lines.
import { ContextFile, ContextMap, ContextRange } from '../protocol';

export interface PositionLocator {
  /** The file and 1-based line of a prompt token, or undefined outside every file. */
  locate(promptTokenIndex: number): { path: string; line: number } | undefined;
}

export interface KeptPositions {
  positions: Int32Array;
}

/** Lines this close together fall into one range. */
const RANGE_GAP_LINES = 3;

function rangesOf(lineCounts: Map<number, number>): ContextRange[] {
  const lines = [...lineCounts.keys()].filter((line) => line > 0).sort((a, b) => a - b);
  const ranges: ContextRange[] = [];
  for (const line of lines) {
    const kept = lineCounts.get(line) ?? 0;
    const last = ranges[ranges.length - 1];
    if (last && line - last.endLine <= RANGE_GAP_LINES) {
      last.endLine = line;
      last.kept += kept;
    } else {
      ranges.push({ startLine: line, endLine: line, kept });
    }
  }
  return ranges.sort((a, b) => b.kept - a.kept || a.startLine - b.startLine);
}

export function buildContextMap(
  requestId: string,
  question: string,
  kept: ReadonlyArray<ReadonlyArray<KeptPositions>>,
  locator: PositionLocator,
): ContextMap {
  const perFile = new Map<string, Map<number, number>>();
  let outside = 0;
  let total = 0;
  for (const layer of kept) {
    for (const head of layer) {
      for (const position of head.positions) {
        total++;
        const where = locator.locate(position);
        if (!where) {
          outside++;
          continue;
        }
        let lines = perFile.get(where.path);
        if (!lines) perFile.set(where.path, (lines = new Map()));
        // Line 0 is the block's header or footer: it counts for the file, not for a range.
        lines.set(where.line, (lines.get(where.line) ?? 0) + 1);
      }
    }
  }
  const inFiles = total - outside;
  const files: ContextFile[] = [...perFile].map(([path, lines]) => {
    let count = 0;
    for (const n of lines.values()) count += n;
    return { path, kept: count, share: inFiles > 0 ? count / inFiles : 0, ranges: rangesOf(lines) };
  });
  files.sort((a, b) => b.kept - a.kept || a.path.localeCompare(b.path));
  return { requestId, question, files, keptOutsideFiles: outside, keptTotal: total };
}

/** The few files an answer shows as references: the top of the map, each with its strongest ranges. */
export function topReferences(map: ContextMap, maxFiles = 8, maxRanges = 3): ContextFile[] {
  return map.files.slice(0, maxFiles).map((file) => ({ ...file, ranges: file.ranges.slice(0, maxRanges) }));
}
