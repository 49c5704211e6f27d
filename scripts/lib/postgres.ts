/**
 * The embedded PostgreSQL cluster that FerretDB stores its data in (the default database of
 * `npm start`, the tests and the benchmarks). A cluster of our own under the data directory, on
 * a loopback port, started and stopped with the rest: never the machine's own PostgreSQL.
 *
 * Durability: fsync, synchronous_commit and full_page_writes stay on, so a message the api
 * answered 201 for survives a crash of any process or of the machine.
 *
 * Two adaptations make FerretDB 1.x on PostgreSQL use indexes at all (measured: every query was a
 * sequential scan, 45 ms for a lookup by _id at 100,000 documents):
 *  - FerretDB filters with `_jsonb -> $1 @> $2`, the field name a statement parameter. A generic
 *    plan cannot match an expression index, and PostgreSQL switches to generic plans after five
 *    runs of a prepared statement: `plan_cache_mode = force_custom_plan`.
 *  - The indexes FerretDB creates are btree on `(_jsonb -> 'field')`, which cannot serve `@>`.
 *    An event trigger gives each of them a GIN twin on the same expressions (see TWIN_SQL), so
 *    the api's own index definitions (mongoose schemas) are what serve its queries here too.
 */
import { SQL } from "bun";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { aptInstall, isRoot, spawnLogged, stopAll, type Child } from "./system.ts";
import { waitFor } from "./ports.ts";

/** The PostgreSQL role FerretDB connects as, and the database it keeps its data in. */
export const PG_USER = "parley";
export const PG_DATABASE = "parley";
/**
 * FerretDB's PostgreSQL connections (its default is 50). Each update holds two of them at once
 * (a read, then a write), and FerretDB stops answering when they run out: the api bounds its
 * concurrent updates (bookkeeping.ts), and this leaves room for several api processes.
 */
const FERRETDB_POOL = 180;
/** The system account the server runs as when we are root (PostgreSQL refuses to run as root). */
const SERVER_ACCOUNT = "postgres";

/** Server settings, passed on the command line so they are visible in `ps` and in one place. */
const SETTINGS: Record<string, string> = {
  listen_addresses: "127.0.0.1",
  fsync: "on",
  synchronous_commit: "on",
  full_page_writes: "on",
  plan_cache_mode: "force_custom_plan",
  // FerretDB's pool (FERRETDB_POOL) plus a few for tools
  max_connections: "200",
  log_min_messages: "warning",
  log_line_prefix: "%m [%p] ",
};

/** The directory of initdb/postgres: Debian keeps them out of PATH, one folder per major version. */
export function findPostgresBin(): string | null {
  const base = "/usr/lib/postgresql";
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, "bin/postgres")))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(base, versions[0], "bin");
  }
  const initdb = Bun.which("initdb");
  return initdb ? join(initdb, "..") : null;
}

/**
 * Finds PostgreSQL, installing Debian's package when we may. The package would create and start
 * a cluster of its own on port 5432; `create_main_cluster = false` keeps the machine clean.
 */
export function ensurePostgres(): string {
  const found = findPostgresBin();
  if (found) return found;
  if (!isRoot()) throw new Error("PostgreSQL is not installed. Install it with: sudo apt-get install -y postgresql");
  if (!existsSync("/etc/postgresql-common/createcluster.conf")) {
    mkdirSync("/etc/postgresql-common", { recursive: true });
    writeFileSync("/etc/postgresql-common/createcluster.conf", "create_main_cluster = false\n");
  }
  aptInstall("postgresql", "pg_ctlcluster", ["-o", "Dpkg::Options::=--force-confold"]);
  const bin = findPostgresBin();
  if (!bin) throw new Error("PostgreSQL was installed but its programs were not found under /usr/lib/postgresql");
  return bin;
}

/** Runs a PostgreSQL program as the server account when we are root, else as ourselves. */
function asServerAccount(cmd: string[]): string[] {
  return isRoot()
    ? ["setpriv", `--reuid=${SERVER_ACCOUNT}`, `--regid=${SERVER_ACCOUNT}`, "--init-groups", ...cmd]
    : cmd;
}

/** Whether the server account can reach `dir` (every folder above it must be searchable). */
function reachable(dir: string): boolean {
  if (!isRoot()) return true;
  return Bun.spawnSync(asServerAccount(["test", "-x", dir])).exitCode === 0;
}

/** `url` for clients; `ferretdbUrl` the same with FerretDB's pool size (a pgx parameter). */
export type Postgres = Child & { url: string; ferretdbUrl: string; port: number };

/**
 * Starts (creating on first use) a cluster in `dir`. The password of the `parley` role is made
 * once and kept in `<dir>-password` (mode 0600); FerretDB gets it through its environment,
 * never on a command line.
 */
export async function startPostgres(opts: {
  port: number;
  dir: string;
  logFile?: string;
  /** statements slower than this are logged, with their duration (default 1000 ms) */
  slowStatementMs?: number;
  /**
   * Benchmarks only: commits answered before their WAL reaches the disk (synchronous_commit
   * off), to tell the disk's stalls from the software's limits. Never for data anyone keeps:
   * a crash loses the last commits.
   */
  diagnosticAsyncCommit?: boolean;
}): Promise<Postgres> {
  const bin = ensurePostgres();
  const { port } = opts;
  const dir = clusterDir(opts.dir);
  const password = secretBeside(opts.dir);
  const data = join(dir, "data");
  if (!existsSync(join(data, "PG_VERSION"))) initCluster(bin, dir, data, password);

  const settings = {
    ...SETTINGS,
    port: String(port),
    unix_socket_directories: dir,
    log_min_duration_statement: String(opts.slowStatementMs ?? 1000),
    ...(opts.diagnosticAsyncCommit ? { synchronous_commit: "off" } : {}),
  };
  const args = Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`]);
  const child = spawnLogged("postgres", asServerAccount([join(bin, "postgres"), "-D", data, ...args]), {
    logFile: opts.logFile,
  });
  // SIGINT is PostgreSQL's "fast" shutdown: roll back open sessions, checkpoint, exit (SIGTERM
  // would wait for every client to disconnect first)
  child.stopSignal = "SIGINT";
  const url = `postgres://${PG_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${PG_DATABASE}`;
  try {
    await waitFor(
      `postgres on port ${port}`,
      () => answers(`postgres://${PG_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`),
      30_000,
    );
    await prepareDatabase(url, `postgres://${PG_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`);
  } catch (err) {
    await stopAll([child], 5000);
    throw err;
  }
  return { ...child, url, ferretdbUrl: `${url}?pool_max_conns=${FERRETDB_POOL}`, port };
}

/**
 * The folder the cluster lives in: `wanted` itself, unless we are root and the server account
 * cannot reach it (a private folder above it, such as /root). Then the cluster lives in
 * /var/lib/parley/<hash of wanted> and `wanted` is a symbolic link to it, so the data stays
 * where the user put it without opening up their home folder.
 */
function clusterDir(wanted: string): string {
  if (existsSync(wanted)) {
    const real = realpathSync(wanted);
    if (reachable(real)) return real;
  }
  mkdirSync(dirname(wanted), { recursive: true });
  if (!isRoot() || reachable(dirname(wanted))) {
    mkdirSync(wanted, { recursive: true, mode: 0o700 });
    if (isRoot()) chownTo(wanted);
    return wanted;
  }
  const home = join("/var/lib/parley", createHash("sha256").update(wanted).digest("hex").slice(0, 16));
  mkdirSync(home, { recursive: true, mode: 0o700 });
  chownTo(home);
  if (!existsSync(wanted)) symlinkSync(home, wanted);
  console.error(
    `[infra] ${dirname(wanted)} is private to root: the PostgreSQL cluster lives in ${home} (linked from ${wanted})`,
  );
  return home;
}

function chownTo(path: string) {
  const id = Bun.spawnSync(["id", "-u", SERVER_ACCOUNT]);
  const gid = Bun.spawnSync(["id", "-g", SERVER_ACCOUNT]);
  if (id.exitCode !== 0)
    throw new Error(`the '${SERVER_ACCOUNT}' account does not exist (it comes with Debian's postgresql package)`);
  chownSync(path, Number(id.stdout.toString()), Number(gid.stdout.toString()));
}

/** The role's password, kept next to the cluster folder (`<dir>-password`, mode 0600). */
function secretBeside(dir: string): string {
  const file = `${dir}-password`;
  if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString("base64url"), { mode: 0o600 });
  return readFileSync(file, "utf8").trim();
}

function initCluster(bin: string, dir: string, data: string, password: string) {
  const pwfile = join(dir, "initdb-password");
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (isRoot()) chownTo(pwfile);
  const init = Bun.spawnSync(
    asServerAccount([
      join(bin, "initdb"),
      "-D",
      data,
      "-U",
      PG_USER,
      `--pwfile=${pwfile}`,
      "--auth=scram-sha-256",
      "-E",
      "UTF8",
      "--locale=C.UTF-8",
    ]),
    { stdout: "pipe", stderr: "pipe" },
  );
  Bun.spawnSync(["rm", "-f", pwfile]);
  if (init.exitCode !== 0) throw new Error(`initdb failed: ${init.stderr.toString().trim()}`);
  chmodSync(data, 0o700);
}

async function answers(url: string): Promise<boolean> {
  const sql = new SQL(url, { max: 1, connectionTimeout: 2 });
  try {
    await sql`select 1`;
    return true;
  } finally {
    await sql.close().catch(() => {});
  }
}

/** Creates the database (first start) and (re)installs the index twins; idempotent. */
async function prepareDatabase(url: string, adminUrl: string) {
  const admin = new SQL(adminUrl, { max: 1 });
  try {
    const [row] = await admin`select count(*)::int as n from pg_database where datname = ${PG_DATABASE}`;
    if (row.n === 0) await admin.unsafe(`create database ${PG_DATABASE}`);
  } finally {
    await admin.close();
  }
  const db = new SQL(url, { max: 1 });
  try {
    await db.unsafe(TWIN_SQL);
  } finally {
    await db.close();
  }
}

/**
 * Indexes FerretDB creates are btree on `(_jsonb -> 'field')` expressions; its filters are
 * `_jsonb -> 'field' @> value`, which only GIN (jsonb_path_ops) serves. So, for each index
 * FerretDB creates (the api's mongoose index definitions):
 *  - not unique: the btree is replaced by a GIN index of the same name (FerretDB finds and
 *    drops it by name; a btree there would only cost writes);
 *  - unique on one field: kept (it enforces uniqueness) with a GIN twin `<index>_gin` for queries;
 *  - unique on several fields: kept, no twin. In Parley such an index only arbitrates (the
 *    (conversationId, seq) of messages); queries use single-field equality keys (collections.ts).
 * A twin follows its index: made on CREATE INDEX, dropped with it; indexes that exist already
 * (a cluster from before this code) are brought to the same shape at every start.
 */
export const TWIN_SQL = `
create or replace function parley_twin_index(idx oid) returns void language plpgsql as $fn$
declare
  ix record;
  cols text[];
begin
  select c.relname as name, n.nspname as schema, t.relname as tbl, i.indnatts as natts, am.amname as am,
         i.indisunique as uniq
    into ix
    from pg_index i
    join pg_class c on c.oid = i.indexrelid
    join pg_class t on t.oid = i.indrelid
    join pg_namespace n on n.oid = c.relnamespace
    join pg_am am on am.oid = c.relam
   where i.indexrelid = idx;
  if not found or ix.am <> 'btree' or ix.name like '%\\_gin' then return; end if;
  select array_agg(pg_get_indexdef(idx, k, true) || ' jsonb_path_ops' order by k) into cols
    from generate_series(1, ix.natts) k;
  -- only indexes made of _jsonb expressions (FerretDB's); anything else is left alone
  if exists (select 1 from unnest(cols) c where c not like '(_jsonb -> %') then return; end if;
  if not ix.uniq then
    execute format('drop index %I.%I', ix.schema, ix.name);
    execute format('create index %I on %I.%I using gin (%s)', ix.name, ix.schema, ix.tbl, array_to_string(cols, ', '));
  elsif ix.natts = 1 then
    execute format('create index if not exists %I on %I.%I using gin (%s)',
                   left(ix.name, 59) || '_gin', ix.schema, ix.tbl, array_to_string(cols, ', '));
  else
    execute format('drop index if exists %I.%I', ix.schema, left(ix.name, 59) || '_gin');
  end if;
end
$fn$;

create or replace function parley_twin_on_create() returns event_trigger language plpgsql as $fn$
declare
  cmd record;
begin
  for cmd in select objid from pg_event_trigger_ddl_commands() where object_type = 'index' loop
    perform parley_twin_index(cmd.objid);
  end loop;
end
$fn$;

create or replace function parley_twin_on_drop() returns event_trigger language plpgsql as $fn$
declare
  obj record;
begin
  for obj in select schema_name, object_name from pg_event_trigger_dropped_objects()
              where object_type = 'index' and object_name not like '%\\_gin' and not is_temporary loop
    execute format('drop index if exists %I.%I', obj.schema_name, left(obj.object_name, 59) || '_gin');
  end loop;
end
$fn$;

drop event trigger if exists parley_twin_create;
create event trigger parley_twin_create on ddl_command_end when tag in ('CREATE INDEX')
  execute function parley_twin_on_create();
drop event trigger if exists parley_twin_drop;
create event trigger parley_twin_drop on sql_drop when tag in ('DROP INDEX')
  execute function parley_twin_on_drop();

select parley_twin_index(i.indexrelid) from pg_index i join pg_class c on c.oid = i.indexrelid
 join pg_namespace n on n.oid = c.relnamespace where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast');
`;
