// The context maps of recent answers, so a client can ask for one after the answer.
import type { ContextMap } from '../protocol';

const KEEP = 32;

export class ContextMapStore {
  private readonly maps = new Map<string, ContextMap>();
  private last: string | undefined;

  add(map: ContextMap): void {
    this.maps.delete(map.requestId);
    this.maps.set(map.requestId, map);
    this.last = map.requestId;
    while (this.maps.size > KEEP) {
      const oldest = this.maps.keys().next().value;
      if (oldest === undefined) break;
      this.maps.delete(oldest);
    }
  }

  /** The named answer's map, or the last answer's. */
  get(requestId?: string): ContextMap | undefined {
    const id = requestId ?? this.last;
    return id === undefined ? undefined : this.maps.get(id);
  }
}
