/**
 * The folder queue's waiting jobs, by group, handed out so that one group cannot stall the others.
 * A group's photos are filed one at a time under its lock anyway: a second job of a group that is
 * held up (a long `/threshold`, a forget, a slow disk) would only wait in a process-wide place
 * while other groups' photos queue behind it. So the next job is the oldest of a group with
 * nothing running, the group served least recently first (round-robin). A group may take a
 * further place only while one is left over for whoever posts next: a lone group's burst still
 * keeps the engine's workers busy, and a group that is held up never holds every place.
 *
 * Photos imported from a chat's history wait in a second line: one starts only when no live photo
 * may, and never takes the last free place (with one place, only when nothing runs), so a
 * backfill of thousands never makes a photo posted now wait behind it.
 */
export class GroupTurns {
  private readonly waiting = new Map<string, string[]>();
  /** Imported jobs, by group: served only when no live job may start. */
  private readonly background = new Map<string, string[]>();
  private readonly running = new Map<string, number>();
  /** When each group's last job started, in starts; a group not seen since it emptied is new. */
  private readonly lastStarted = new Map<string, number>();
  private starts = 0;
  private count = 0;

  /** Jobs waiting. */
  get size(): number {
    return this.count;
  }

  /** Every waiting job's id. */
  *ids(): Iterable<string> {
    for (const ids of this.waiting.values()) yield* ids;
    for (const ids of this.background.values()) yield* ids;
  }

  /**
   * Adds a job at the end of its group's line (ids sort by when they were accepted); an imported
   * one at the end of the group's background line.
   */
  push(id: string, group: string, imported = false): void {
    const lines = imported ? this.background : this.waiting;
    const line = lines.get(group);
    if (line) line.push(id);
    else lines.set(group, [id]);
    this.count++;
  }

  /**
   * The job to start now, given the jobs `active` in `places`; undefined when none may start. The
   * caller reports its end with `finished`.
   */
  take(active: number, places: number): { readonly id: string; readonly group: string } | undefined {
    if (active >= places) return undefined;
    let lines = this.waiting;
    let group = this.nextGroup(lines, false) ?? (active < places - 1 ? this.nextGroup(lines, true) : undefined);
    // The history's photos: never in the last free place, which stays for whoever posts next.
    if (group === undefined && (active < places - 1 || active === 0)) {
      lines = this.background;
      group = this.nextGroup(lines, false) ?? (active < places - 2 ? this.nextGroup(lines, true) : undefined);
    }
    if (group === undefined) return undefined;
    const line = lines.get(group)!;
    const id = line.shift()!;
    if (line.length === 0) lines.delete(group);
    this.count--;
    this.running.set(group, (this.running.get(group) ?? 0) + 1);
    this.lastStarted.set(group, ++this.starts);
    return { id, group };
  }

  /** A job of `group` taken with `take` has ended (filed, set aside, or waiting to be tried again). */
  finished(group: string): void {
    const left = (this.running.get(group) ?? 1) - 1;
    if (left > 0) return void this.running.set(group, left);
    this.running.delete(group);
    if (!this.waiting.has(group) && !this.background.has(group)) this.lastStarted.delete(group);
  }

  /**
   * Of the groups with jobs waiting, the one whose turn it is: with nothing running (or, with
   * `busy`, the fewest running), served least recently, then the one whose next job is oldest.
   */
  private nextGroup(lines: ReadonlyMap<string, readonly string[]>, busy: boolean): string | undefined {
    let best: { group: string; running: number; last: number; head: string } | undefined;
    for (const [group, line] of lines) {
      const running = this.running.get(group) ?? 0;
      if (running > 0 && !busy) continue;
      const candidate = { group, running, last: this.lastStarted.get(group) ?? 0, head: line[0]! };
      if (!best || before(candidate, best)) best = candidate;
    }
    return best?.group;
  }
}

function before(a: { running: number; last: number; head: string }, b: { running: number; last: number; head: string }): boolean {
  if (a.running !== b.running) return a.running < b.running;
  if (a.last !== b.last) return a.last < b.last;
  return a.head < b.head;
}
