import { StartupError } from '../../core/index.ts';

/**
 * Which gateway shards a process runs. Discord sends each guild's events to one shard,
 * `(guild_id >> 22) % count`; several processes with the same `count` and their own `ids` split
 * the guilds between them.
 *
 * One discord.js `Client` runs all the ids of a process (`shards` + `shardCount`, one WebSocket
 * per shard through @discordjs/ws's simple strategy), and the process handles every event of its
 * shards itself. That suits this bot: a shard's events are few and light (the recognition runs in
 * the photo queue, on `facefile worker`s when scaled out), so neither `ShardingManager` (a child
 * process per shard, each needing the whole bot wiring or an IPC bridge to the queue) nor
 * `WorkerShardingStrategy` (the sockets in worker threads, worth it only for the JSON of thousands
 * of guilds per shard) would earn its complexity; more shards than one process can hold go to
 * more processes, by `ids`.
 */
export interface DiscordShards {
  /** Shards in all; 'auto' takes the count Discord recommends (GET /gateway/bot). */
  readonly count: number | 'auto';
  /** The shards this process runs; all of them when absent. */
  readonly ids?: readonly number[] | undefined;
}

/** The shards of one process, resolved: how many there are in all, and which of them run here. */
export interface ShardPlan {
  readonly count: number;
  readonly ids: readonly number[];
}

/**
 * Resolves `shards`: 'auto' asks `recommended` (Discord's GET /gateway/bot), absent ids are all of
 * them. An id that does not exist is a `StartupError` here, at start, rather than Discord closing
 * that shard's connection (4010) after the models have loaded.
 */
export async function planShards(shards: DiscordShards, recommended: () => Promise<number>): Promise<ShardPlan> {
  const count = shards.count === 'auto' ? await recommended() : shards.count;
  if (!Number.isInteger(count) || count < 1) throw new StartupError(`the Discord shard count must be a whole number of at least 1, not ${count}`);
  const ids = shards.ids ? [...new Set(shards.ids)].sort((a, b) => a - b) : Array.from({ length: count }, (_, id) => id);
  const wrong = ids.filter((id) => !Number.isInteger(id) || id < 0 || id >= count);
  if (ids.length === 0 || wrong.length > 0) {
    const which = ids.length === 0 ? 'no shard is listed' : `shard ${wrong.join(', ')} does not exist`;
    throw new StartupError(
      `Discord: ${which}; there are ${count} shard${count === 1 ? '' : 's'}${shards.count === 'auto' ? ' (as Discord recommends)' : ''}, numbered 0 to ${count - 1}: check DISCORD_SHARD_IDS and DISCORD_SHARD_COUNT`,
    );
  }
  return { count, ids };
}

/** One line for the log: which shards run here, of how many. */
export function describeShards(plan: ShardPlan): string {
  const all = plan.ids.length === plan.count;
  return `Discord: this process runs ${all ? (plan.count === 1 ? 'the only shard' : `all ${plan.count} shards`) : `shard${plan.ids.length === 1 ? '' : 's'} ${plan.ids.join(', ')} of ${plan.count}`}`;
}
