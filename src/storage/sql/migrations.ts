import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

export type SqlDialectName = 'sqlite' | 'postgres';

/**
 * The schema's history, oldest first. A migration is never edited once released: a change is a new
 * one. Names sort in the order they run (Kysely's migrator checks this).
 */
function migrations(dialect: SqlDialectName): Record<string, Migration> {
  return {
    '0001_library': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('people')
          .addColumn('group_id', 'text', (c) => c.notNull())
          .addColumn('id', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('folder', 'text', (c) => c.notNull())
          .addColumn('user_id', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('people_pk', ['group_id', 'id'])
          .addUniqueConstraint('people_folder', ['group_id', 'folder'])
          .execute();
        await db.schema
          .createTable('samples')
          .addColumn('group_id', 'text', (c) => c.notNull())
          .addColumn('person_id', 'text', (c) => c.notNull())
          .addColumn('position', 'integer', (c) => c.notNull())
          .addColumn('embedding', binary(dialect), (c) => c.notNull())
          .addColumn('photo_hash', 'text')
          .addColumn('added_by', 'text')
          .addColumn('added_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('samples_pk', ['group_id', 'person_id', 'position'])
          .addForeignKeyConstraint('samples_person', ['group_id', 'person_id'], 'people', ['group_id', 'id'], (c) => c.onDelete('cascade'))
          .execute();
        await db.schema
          .createTable('rejections')
          .addColumn('group_id', 'text', (c) => c.notNull())
          .addColumn('person_id', 'text', (c) => c.notNull())
          .addColumn('photo_hash', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('rejections_pk', ['group_id', 'person_id', 'photo_hash'])
          .addForeignKeyConstraint('rejections_person', ['group_id', 'person_id'], 'people', ['group_id', 'id'], (c) => c.onDelete('cascade'))
          .execute();
        await db.schema
          .createTable('photos')
          .addColumn('group_id', 'text', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .addColumn('ext', 'text', (c) => c.notNull())
          .addColumn('bytes', 'integer', (c) => c.notNull())
          .addColumn('original_name', 'text')
          .addColumn('posted_by', 'text')
          .addColumn('posted_at', 'text', (c) => c.notNull())
          .addColumn('taken_at', 'text')
          .addColumn('source', 'text')
          .addPrimaryKeyConstraint('photos_pk', ['group_id', 'hash'])
          .execute();
        await db.schema
          .createTable('faces')
          .addColumn('group_id', 'text', (c) => c.notNull())
          .addColumn('photo_hash', 'text', (c) => c.notNull())
          .addColumn('position', 'integer', (c) => c.notNull())
          .addColumn('box_x', 'double precision', (c) => c.notNull())
          .addColumn('box_y', 'double precision', (c) => c.notNull())
          .addColumn('box_width', 'double precision', (c) => c.notNull())
          .addColumn('box_height', 'double precision', (c) => c.notNull())
          .addColumn('score', 'double precision', (c) => c.notNull())
          .addColumn('eye_distance', 'double precision', (c) => c.notNull())
          .addColumn('embedding', binary(dialect))
          .addColumn('unusable', 'text')
          .addColumn('person_id', 'text')
          .addColumn('seen_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('faces_pk', ['group_id', 'photo_hash', 'position'])
          .addForeignKeyConstraint('faces_photo', ['group_id', 'photo_hash'], 'photos', ['group_id', 'hash'], (c) => c.onDelete('cascade'))
          .execute();
        // An album is the photos with a face named as its person; people's photo counts too.
        await db.schema.createIndex('faces_person').on('faces').columns(['group_id', 'person_id', 'photo_hash']).execute();
        // Unknown faces by age: clustering and the retention sweep.
        await db.schema.createIndex('faces_unknown').on('faces').columns(['group_id', 'seen_at']).where(sql.ref('person_id'), 'is', null).execute();
        await db.schema
          .createTable('settings')
          .addColumn('group_id', 'text', (c) => c.primaryKey())
          .addColumn('threshold', 'double precision', (c) => c.notNull())
          .addColumn('reply_mode', 'text', (c) => c.notNull())
          .addColumn('removed_at', 'text')
          .addColumn('moving_from', 'text')
          .addColumn('pending', 'text')
          .execute();
        await db.schema
          .createTable('clusters')
          .addColumn('group_id', 'text', (c) => c.primaryKey())
          .addColumn('clusters', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('face_versions')
          .addColumn('group_id', 'text', (c) => c.primaryKey())
          .addColumn('version', 'integer', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('audit')
          .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('group_id', 'text', (c) => c.notNull())
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('by_user', 'text')
          .addColumn('by_name', 'text')
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('detail', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('audit_group').on('audit').columns(['group_id', 'id']).execute();
      },
    },
    '0002_faces_embedded': {
      async up(db: Kysely<unknown>) {
        // /stats and /people count the unknown faces that still have an embedding: from this
        // index alone, rather than by reading every face row, embedding bytes and all.
        await db.schema.createIndex('faces_embedded').on('faces').columns(['group_id', 'person_id']).where(sql.ref('embedding'), 'is not', null).execute();
      },
    },
    '0003_deployment': {
      async up(db: Kysely<unknown>) {
        // Scale-out: every process checks that its data folder is the volume the others use.
        await db.schema
          .createTable('deployment')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0004_embedder': {
      async up(db: Kysely<unknown>) {
        // Which embedder made each embedding: after a change of embedder the old ones are
        // re-described from the originals, row by row, and are never compared with new ones. Every
        // embedding stored before this was made by the one embedder there was.
        await db.schema.alterTable('samples').addColumn('embedder', 'text').execute();
        await db.schema.alterTable('faces').addColumn('embedder', 'text').execute();
        await sql`update samples set embedder = ${LEGACY_EMBEDDER}`.execute(db);
        await sql`update faces set embedder = ${LEGACY_EMBEDDER} where embedding is not null`.execute(db);
        // What is left to re-describe, and each embedder's faces for the matrix.
        await db.schema
          .createIndex('faces_embedder')
          .on('faces')
          .columns(['group_id', 'embedder', 'photo_hash'])
          .where(sql.ref('embedding'), 'is not', null)
          .execute();
      },
    },
    '0005_face_cache': {
      async up(db: Kysely<unknown>) {
        // The archiver's faces by the photo's content and the embedder that described them: in the
        // library's own database (it was a keyv store on a second SQLite library), so that a forget
        // removes a photo's cached faces, every embedder's, in the database it already holds.
        await db.schema
          .createTable('face_cache')
          .addColumn('hash', 'text', (c) => c.notNull())
          .addColumn('embedder', 'text', (c) => c.notNull())
          .addColumn('faces', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('face_cache_pk', ['hash', 'embedder'])
          .execute();
      },
    },
    '0006_forgotten_at': {
      async up(db: Kysely<unknown>) {
        // When someone was last forgotten in a group: a photo still queued then is filed without
        // the embeddings of faces it cannot name (they may be the forgotten person's).
        await db.schema.alterTable('settings').addColumn('forgotten_at', 'text').execute();
      },
    },
    '0007_history_imports': {
      async up(db: Kysely<unknown>) {
        // A chat-history import (Discord's /import) pages back through each channel: how far it
        // got is kept here, one row per channel, so that a restart goes on where it stopped.
        await db.schema
          .createTable('history_imports')
          .addColumn('group_id', 'text', (c) => c.notNull())
          .addColumn('channel_id', 'text', (c) => c.notNull())
          .addColumn('before_id', 'text')
          .addColumn('done', 'integer', (c) => c.notNull())
          .addColumn('scanned', 'integer', (c) => c.notNull())
          .addColumn('queued', 'integer', (c) => c.notNull())
          .addColumn('skipped', 'integer', (c) => c.notNull())
          .addColumn('problem', 'text')
          .addColumn('started_at', 'text', (c) => c.notNull())
          .addColumn('requested_by', 'text')
          .addPrimaryKeyConstraint('history_imports_pk', ['group_id', 'channel_id'])
          .execute();
      },
    },
    '0008_import_progress': {
      async up(db: Kysely<unknown>) {
        // /stats shows an import's pace, read by any process: how many photos in all (an import
        // from files knows it), when the counts last moved, and where the group hears it ended.
        await db.schema.alterTable('history_imports').addColumn('total', 'integer').execute();
        await db.schema.alterTable('history_imports').addColumn('updated_at', 'text').execute();
        await db.schema.alterTable('history_imports').addColumn('announce_in', 'text').execute();
      },
    },
  };
}

/** The embedder of every embedding stored before embedders were recorded (migration 0004, the keyv import). */
export const LEGACY_EMBEDDER = 'dlib-7-flip@1';

function binary(dialect: SqlDialectName): 'blob' | 'bytea' {
  return dialect === 'postgres' ? 'bytea' : 'blob';
}

/** The migrations from code, not from a folder: they travel with the source whatever runs it. */
export function migrationProvider(dialect: SqlDialectName): MigrationProvider {
  return { getMigrations: () => Promise.resolve(migrations(dialect)) };
}
