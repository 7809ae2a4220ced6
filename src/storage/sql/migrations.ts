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
    '0009_faces_posted_at': {
      async up(db: Kysely<unknown>) {
        // Each face carries its photo's posting time (written with the record, as the photo's is),
        // so that a person's newest photo is the end of one index range: the people page's covers
        // were a lookup of every named face's photo for its date (300k at 100k photos).
        await db.schema
          .alterTable('faces')
          .addColumn('posted_at', 'text', (c) => c.notNull().defaultTo(''))
          .execute();
        await sql`update faces set posted_at = photos.posted_at from photos where photos.group_id = faces.group_id and photos.hash = faces.photo_hash`.execute(
          db,
        );
        await db.schema
          .createIndex('faces_newest')
          .on('faces')
          .columns(['group_id', 'person_id', 'posted_at', 'photo_hash'])
          .where(sql.ref('person_id'), 'is not', null)
          .execute();
      },
    },
    '0010_totals': {
      async up(db: Kysely<unknown>) {
        // /people and /stats read each group's totals and each person's photo count from a row,
        // kept by the database itself in the transaction of every write (triggers): counting them
        // took a walk of every photo row and of the faces' indexes (0.2-0.7 s at 100k photos).
        await db.schema
          .createTable('group_totals')
          .addColumn('group_id', 'text', (c) => c.primaryKey())
          .addColumn('photos', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('bytes', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('faces', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('unknown_faces', 'bigint', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema
          .createTable('person_photos')
          .addColumn('group_id', 'text', (c) => c.notNull())
          .addColumn('person_id', 'text', (c) => c.notNull())
          .addColumn('photos', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('person_photos_pk', ['group_id', 'person_id'])
          .execute();
        // What a library upgraded from an earlier release already holds, counted once.
        await sql`insert into group_totals (group_id, photos, bytes, faces, unknown_faces)
          select p.group_id, p.photos, p.bytes, coalesce(f.faces, 0), coalesce(f.unknown_faces, 0)
          from (select group_id, count(*) as photos, sum(bytes) as bytes from photos group by group_id) p
          left join (select group_id, count(*) as faces, sum(case when embedding is not null and person_id is null then 1 else 0 end) as unknown_faces
                     from faces group by group_id) f on f.group_id = p.group_id`.execute(db);
        await sql`insert into person_photos (group_id, person_id, photos)
          select group_id, person_id, count(distinct photo_hash) from faces where person_id is not null group by group_id, person_id`.execute(db);
        for (const statement of dialect === 'postgres' ? postgresTotals() : sqliteTotals()) await sql.raw(statement).execute(db);
      },
    },
    '0011_face_changes': {
      async up(db: Kysely<unknown>) {
        // The photos each write changed, by face version, so that a matrix kept in a file (or held
        // by a process another one wrote behind) is brought up to date from them rather than read
        // again from every face row. Emptied by every write that erases anything, and trimmed to
        // what came after the kept file. The log of a library upgraded to this reaches back to now.
        await db.schema
          .createTable('face_changes')
          .addColumn('group_id', 'text', (c) => c.notNull())
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('photo_hash', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('face_changes_pk', ['group_id', 'version', 'photo_hash'])
          .execute();
        await db.schema
          .alterTable('face_versions')
          .addColumn('changes_from', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema.alterTable('face_versions').addColumn('kept', 'text').execute();
        await sql`update face_versions set changes_from = version`.execute(db);
      },
    },
    '0012_face_updates': {
      async up(db: Kysely<unknown>) {
        // The totals of faces updated in place are kept by the store, once for the whole update,
        // from what the photos it changes hold before and after it (`updateFaces`): SQLite runs a
        // trigger for each row, and at 100k photos a forget's 20k erasures spent as long in the
        // triggers as in the update itself (0.9 of 1.8 s). PostgreSQL's go too, so both count one
        // way. Inserts and deletes are still counted by the triggers. A later migration that
        // updates faces recounts.
        if (dialect === 'sqlite') {
          await sql`drop trigger faces_changed`.execute(db);
          await sql`drop trigger faces_renamed`.execute(db);
        } else {
          await sql`drop trigger faces_counted_update on faces`.execute(db);
          await sql`drop function faces_counted_update()`.execute(db);
        }
        // Each index holds only the faces it is read for: an erased face (neither name nor
        // embedding) or a face named anew no longer adds an entry in the middle of the unnamed ones
        // (faces_person) or of the unknown ones by age (faces_unknown); faces_embedded was read only
        // for the counts that group_totals now keeps. Fewer pages written by every erasure and re-file.
        await db.schema.dropIndex('faces_person').execute();
        await db.schema
          .createIndex('faces_person')
          .on('faces')
          .columns(['group_id', 'person_id', 'photo_hash'])
          .where(sql.ref('person_id'), 'is not', null)
          .execute();
        await db.schema.dropIndex('faces_unknown').execute();
        await db.schema
          .createIndex('faces_unknown')
          .on('faces')
          .columns(['group_id', 'seen_at'])
          .where((eb) => eb.and([eb(sql.ref('person_id'), 'is', null), eb(sql.ref('embedding'), 'is not', null)]))
          .execute();
        await db.schema.dropIndex('faces_embedded').execute();
      },
    },
    '0013_erasure_keeps_embedder': {
      async up(db: Kysely<unknown>) {
        // A forget's erasure leaves a face's embedder where it is (the store), so that on SQLite it
        // leaves the embedder index as it is: at 100k photos that index was a fifth of the pages a
        // forget wrote twice (its commit, and the checkpoint that takes the erased bytes off the
        // disk). There the index holds every face with an embedder: a query for one embedder (or a
        // range) is still answered from it, and checks the row for the embedding; the embeddings
        // with no embedder (none are written any more) get an index of their own, for "what is left
        // to re-describe". PostgreSQL writes a new version of the row and of its entries in every
        // index whatever the update changes (the name is indexed), so there is nothing to gain
        // there, and erased faces would gain an entry: its index stays partial on the embedding,
        // which an erased face leaves.
        if (dialect !== 'sqlite') return;
        await db.schema.dropIndex('faces_embedder').execute();
        await db.schema
          .createIndex('faces_embedder')
          .on('faces')
          .columns(['group_id', 'embedder', 'photo_hash'])
          .where(sql.ref('embedder'), 'is not', null)
          .execute();
        await db.schema
          .createIndex('faces_untagged')
          .on('faces')
          .columns(['group_id', 'photo_hash'])
          .where((eb) => eb.and([eb(sql.ref('embedding'), 'is not', null), eb(sql.ref('embedder'), 'is', null)]))
          .execute();
      },
    },
  };
}

/**
 * SQLite's triggers for migration 0010: row by row, as SQLite runs them, each in the statement's
 * own transaction. A person's count is of photos, not faces: it moves only when the first face of
 * theirs comes to a photo, or the last one leaves it (the (person, photo) index answers that).
 */
function sqliteTotals(): string[] {
  const unknown = (row: 'new' | 'old') => `(${row}.embedding is not null and ${row}.person_id is null)`;
  const addFace = `insert into group_totals (group_id, faces, unknown_faces) values (new.group_id, 1, ${unknown('new')})
      on conflict (group_id) do update set faces = faces + 1, unknown_faces = unknown_faces + excluded.unknown_faces;`;
  const removeFace = `update group_totals set faces = faces - 1, unknown_faces = unknown_faces - ${unknown('old')} where group_id = old.group_id;`;
  const addPhoto = `insert into group_totals (group_id, photos, bytes) values (new.group_id, 1, new.bytes)
      on conflict (group_id) do update set photos = photos + 1, bytes = bytes + excluded.bytes;`;
  const removePhoto = `update group_totals set photos = photos - 1, bytes = bytes - old.bytes where group_id = old.group_id;`;
  // After the change: the new row is in the table (and is not counted as another), the old one is not.
  const named = `insert into person_photos (group_id, person_id, photos) select new.group_id, new.person_id, 1
      where new.person_id is not null and not exists (select 1 from faces where group_id = new.group_id and person_id = new.person_id
        and photo_hash = new.photo_hash and rowid <> new.rowid)
      on conflict (group_id, person_id) do update set photos = photos + 1;`;
  const unnamed = `update person_photos set photos = photos - 1 where old.person_id is not null and group_id = old.group_id and person_id = old.person_id
      and not exists (select 1 from faces where group_id = old.group_id and person_id = old.person_id and photo_hash = old.photo_hash);
    delete from person_photos where group_id = old.group_id and person_id = old.person_id and photos <= 0;`;
  return [
    `create trigger photos_added after insert on photos begin ${addPhoto} end`,
    `create trigger photos_removed after delete on photos begin ${removePhoto} end`,
    `create trigger photos_changed after update of group_id, bytes on photos begin ${removePhoto} ${addPhoto} end`,
    `create trigger faces_added after insert on faces begin ${addFace} end`,
    `create trigger faces_removed after delete on faces begin ${removeFace} end`,
    `create trigger faces_changed after update of group_id, person_id, embedding on faces begin ${removeFace} ${addFace} end`,
    `create trigger faces_named after insert on faces when new.person_id is not null begin ${named} end`,
    `create trigger faces_unnamed after delete on faces when old.person_id is not null begin ${unnamed} end`,
    // Only when the face's (group, person, photo) changes: the same person again moves nothing.
    `create trigger faces_renamed after update of group_id, photo_hash, person_id on faces
      when old.person_id is not new.person_id or old.group_id is not new.group_id or old.photo_hash is not new.photo_hash
      begin ${unnamed} ${named} end`,
  ];
}

/**
 * PostgreSQL's triggers for migration 0010: once per statement, over the statement's rows
 * (transition tables), so that a forget's 100k deleted faces update each total once rather than
 * 100k times (in one transaction, each update of one row would also lengthen that row's chain of
 * versions). A person's photo count before the statement is the one after it, less the statement's
 * own rows.
 */
function postgresTotals(): string[] {
  const photoRows = { added: 'select group_id, bytes, 1 as n from added', removed: 'select group_id, bytes, -1 as n from removed' };
  const faceColumns = 'group_id, photo_hash, person_id, (embedding is not null and person_id is null) as unknown';
  const faceRows = { added: `select ${faceColumns}, 1 as n from added`, removed: `select ${faceColumns}, -1 as n from removed` };
  const photosBody = (changes: string) => `
    insert into group_totals as t (group_id, photos, bytes) select group_id, sum(n), sum(n * bytes) from (${changes}) c group by group_id
      on conflict (group_id) do update set photos = t.photos + excluded.photos, bytes = t.bytes + excluded.bytes;`;
  const facesBody = (changes: string) => `
    insert into group_totals as t (group_id, faces, unknown_faces)
      select group_id, sum(n), sum(case when unknown then n else 0 end) from (${changes}) c group by group_id
      on conflict (group_id) do update set faces = t.faces + excluded.faces, unknown_faces = t.unknown_faces + excluded.unknown_faces;
    insert into person_photos as p (group_id, person_id, photos)
      select group_id, person_id, moved from (
        select t.group_id, t.person_id, sum((now.n > 0)::int - ((now.n - t.delta) > 0)::int) as moved
        from (select group_id, person_id, photo_hash, sum(n) as delta from (${changes}) c where person_id is not null group by 1, 2, 3) t
        cross join lateral (select count(*) as n from faces f where f.group_id = t.group_id and f.person_id = t.person_id and f.photo_hash = t.photo_hash) now
        group by t.group_id, t.person_id
      ) m where moved <> 0
      on conflict (group_id, person_id) do update set photos = p.photos + excluded.photos;
    delete from person_photos where photos <= 0 and (group_id, person_id) in (select group_id, person_id from (${changes}) c where person_id is not null);`;
  const statements: string[] = [];
  for (const [table, body, rows] of [
    ['photos', photosBody, photoRows],
    ['faces', facesBody, faceRows],
  ] as const) {
    const events = [
      ['insert', 'new table as added', rows.added],
      ['delete', 'old table as removed', rows.removed],
      ['update', 'old table as removed new table as added', `${rows.added} union all ${rows.removed}`],
    ] as const;
    for (const [event, referencing, changes] of events) {
      const name = `${table}_counted_${event}`;
      statements.push(
        // Planned anew at each call: a plan cached while the library was small (a first import in
        // one long session) would go on reading the faces table through, where an index answers.
        `create function ${name}() returns trigger language plpgsql set plan_cache_mode = force_custom_plan as $$ begin ${body(changes)} return null; end $$`,
        `create trigger ${name} after ${event} on ${table} referencing ${referencing} for each statement execute function ${name}()`,
      );
    }
  }
  return statements;
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
