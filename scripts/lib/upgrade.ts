/**
 * Moving the data of earlier versions, which kept it in FerretDB on SQLite (`.data/mongo`), to
 * the PostgreSQL engine, once, when `npm start` first runs on PostgreSQL: nobody's chats vanish
 * on upgrade. `.data/mongo` is left as it was (a backup; EMBEDDED_DB=sqlite still opens it).
 *
 * Idempotent: documents are copied with their ids and duplicates skipped, and a marker file is
 * written only when everything was copied, so an interrupted copy simply runs again.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import mongoose from "mongoose";
import { startMongoCompatible, stopAll } from "./infra.ts";
import { freePort } from "./ports.ts";

const MARKER = "copied-from-sqlite";

/** Whether `dataRoot` holds SQLite data that has not been copied yet. */
export function sqliteDataToCopy(dataRoot: string): boolean {
  const dir = join(dataRoot, "mongo");
  if (existsSync(join(dataRoot, MARKER)) || !existsSync(dir)) return false;
  return readdirSync(dir).some((f) => f.endsWith(".sqlite"));
}

/** Copies every database of the SQLite engine into the server at `targetUrl`. */
export async function copySqliteData(dataRoot: string, targetUrl: string, logDir: string): Promise<number> {
  const logs = join(logDir, "upgrade");
  mkdirSync(logs, { recursive: true });
  const source = await startMongoCompatible({ port: await freePort(), dataRoot, engine: "sqlite", logDir: logs });
  let copied = 0;
  try {
    const from = await mongoose.createConnection(source.url, { serverSelectionTimeoutMS: 10_000 }).asPromise();
    const to = await mongoose.createConnection(targetUrl, { serverSelectionTimeoutMS: 10_000 }).asPromise();
    try {
      const { databases } = await from.db!.admin().listDatabases();
      for (const { name } of databases) {
        if (["admin", "local", "config"].includes(name)) continue;
        const src = from.useDb(name).db!;
        const dst = to.useDb(name).db!;
        for (const { name: collection } of await src.listCollections().toArray()) {
          let batch: Record<string, unknown>[] = [];
          const flush = async () => {
            if (batch.length === 0) return;
            // ids are kept, so a document copied by an interrupted earlier run is a duplicate: skipped
            await dst
              .collection(collection)
              .insertMany(batch, { ordered: false })
              .catch((err: { code?: number; writeErrors?: { code?: number }[] }) => {
                const errors = [err.writeErrors ?? []].flat();
                if (err.code !== 11000 && errors.some((e) => e.code !== 11000)) throw err;
              });
            copied += batch.length;
            batch = [];
          };
          for await (const doc of src.collection(collection).find()) {
            batch.push(doc);
            if (batch.length >= 1000) await flush();
          }
          await flush();
        }
      }
    } finally {
      await Promise.all([from.close(), to.close()]);
    }
  } finally {
    await stopAll(source.children, 5000);
  }
  writeFileSync(join(dataRoot, MARKER), `${new Date().toISOString()}: ${copied} documents\n`);
  return copied;
}
