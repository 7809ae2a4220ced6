import { FacefileError } from '../core/index.ts';

/** How much may wait in the folder queue: photos and bytes, in all; a group fills at most half. */
export interface QueueLimits {
  readonly maxPhotos: number;
  readonly maxBytes: number;
}

/**
 * The queue would go over its bounds with this photo: it is refused, not accepted, and the poster
 * is told to post it again later. `whole`: the queue is full; else the group has its half.
 */
export class QueueFullError extends FacefileError {
  override name = 'QueueFullError';
  constructor(
    readonly group: string,
    readonly whole: boolean,
  ) {
    super(whole ? 'the photo queue is full' : `the photo queue holds as much of group ${group} as one group may have`);
  }
}

interface Load {
  photos: number;
  bytes: number;
}

/**
 * What the folder queue holds (waiting, being filed, waiting to be tried again), in all and by
 * group, against its limits: a burst larger than the disk can hold, or one group's flood, is
 * refused at the door instead of filling the disk or making every other group wait for hours.
 */
export class QueueBounds {
  private readonly jobs = new Map<string, { readonly group: string; readonly bytes: number }>();
  private readonly byGroup = new Map<string, Load>();
  private readonly total: Load = { photos: 0, bytes: 0 };

  constructor(private readonly limits: QueueLimits | undefined) {}

  /** Counts a job in; with `check`, throws `QueueFullError` first when it would go over a bound. */
  add(id: string, group: string, bytes: number, check: boolean): void {
    const load = this.byGroup.get(group) ?? { photos: 0, bytes: 0 };
    if (check && this.limits) {
      const { maxPhotos, maxBytes } = this.limits;
      if (this.total.photos + 1 > maxPhotos || this.total.bytes + bytes > maxBytes) throw new QueueFullError(group, true);
      if (load.photos + 1 > Math.max(1, maxPhotos / 2) || load.bytes + bytes > maxBytes / 2) throw new QueueFullError(group, false);
    }
    this.jobs.set(id, { group, bytes });
    this.byGroup.set(group, { photos: load.photos + 1, bytes: load.bytes + bytes });
    this.total.photos++;
    this.total.bytes += bytes;
  }

  /** A job has left the queue (filed, set aside, or never written). */
  remove(id: string): void {
    const job = this.jobs.get(id);
    if (!job) return;
    this.jobs.delete(id);
    const load = this.byGroup.get(job.group)!;
    if (load.photos <= 1) this.byGroup.delete(job.group);
    else this.byGroup.set(job.group, { photos: load.photos - 1, bytes: load.bytes - job.bytes });
    this.total.photos--;
    this.total.bytes -= job.bytes;
  }
}
