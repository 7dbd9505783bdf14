// Package sqlite implements weft's store on an embedded SQLite database, with
// the pure-Go driver modernc.org/sqlite (no cgo), so that `weft serve` with no
// flags runs from one file.
//
// # Connections
//
// SQLite allows one writer at a time. A Store therefore keeps three pools:
//
//   - a writer pool of exactly one connection, whose transactions begin
//     IMMEDIATE (they take the write lock at BEGIN, so two writers never
//     deadlock upgrading a read lock, also across processes), and which holds
//     the prepared statements of the write path;
//   - a read pool of several query-only connections. In WAL mode readers see
//     the last committed state and never wait for the writer, so the incident
//     queue stays fast while a large batch is being written;
//   - one connection that copies the write-ahead log into the database file
//     in the background (see checkpoint.go).
//
// Writes are serialized: a StoreAlerts call waits (as long as its context
// allows) for the previous one to commit. The CPU-heavy part of a batch (JSON
// encoding, hashing, entity keys) runs on other goroutines, ahead of the
// writer, so it overlaps both the writer's work and other callers' writes.
// StoreAlerts explains the write path and why the schema
// (migration/0001_init.sql) is shaped the way it is.
//
// # Durability
//
// The journal is a write-ahead log (WAL). With the default synchronous=FULL
// the log is synced at every commit, so a StoreAlerts call that returned has
// survived a power failure. synchronous=NORMAL (Options.Synchronous "normal")
// syncs only at checkpoints: a committed batch survives a crash of weft but
// the last batches before a power failure or kernel crash may be lost. That
// trade is acceptable only where the sender can resend; on the benchmark
// machine it buys little (see BenchmarkStoreAlerts).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weftxdr/weft"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Options configures a Store. The zero value is safe: real time, FULL
// synchronous, four readers, a ten-second busy timeout.
type Options struct {
	// Now returns the current time; zero means time.Now. The store uses it for
	// the times it sets itself (incident created and updated times, activity
	// times, tenant creation); alert times come with the alerts.
	Now func() time.Time

	// Synchronous is the SQLite synchronous setting: "full" (default; every
	// commit is durable across power loss) or "normal" (durable across a crash
	// of the process only; see the package documentation).
	Synchronous string

	// ReadConns is the size of the read pool; zero means 4.
	ReadConns int

	// BusyTimeout is how long a statement waits for a lock held by another
	// process before it fails; zero means 10 s. Within one Store the writer
	// pool serializes writers, so the timeout matters only when several
	// processes share the file (weft serve with weft backup or weft ingest).
	BusyTimeout time.Duration

	// PageSize is the database page size in bytes for a new database file (a
	// power of two from 512 to 65536); zero means 4096. An existing file
	// keeps the page size it was created with.
	PageSize int

	// CacheSizeKiB is the page cache of each connection in KiB; zero means
	// 65536 (64 MiB) for the writer and a quarter of it for each reader.
	CacheSizeKiB int

	// Correlator places every new alert in an incident (see StoreAlerts and
	// correlate.Engine); nil means that every new alert forms an incident of
	// its own. The store owns it from Open on: it rebuilds it from the
	// stored alerts at Open (see rebuild) and calls it only under the write
	// lock. It must not be shared with another Store.
	Correlator weft.Correlator

	// Describe names and scores an incident from its alerts (ordered by
	// first activity), with the asset criticality and detector prevalence
	// the store knows (DescribeInput), after a batch changed them; it is
	// used only with a Correlator. An empty name keeps the current one, as
	// does a name an analyst set. Nil means that an incident keeps the
	// title of its first alert as its name and has no score.
	Describe func(in DescribeInput) (name string, score *int, factors []weft.PriorityFactor)

	// TenantPolicies are tenants' correlation policies from the
	// configuration file, as JSON a PolicyApplier Correlator reads. Policies
	// set through the API (SetTenantPolicy) take precedence; deleting one
	// returns the tenant to its entry here, or to the default.
	TenantPolicies map[string][]byte

	// Logger receives the store's progress messages (a one-time index
	// backfill at Open); nil means slog.Default().
	Logger *slog.Logger
}

// Store is weft's store on one SQLite file. It is safe for concurrent use.
type Store struct {
	path   string
	now    func() time.Time
	logger *slog.Logger
	write  *sql.DB // exactly one connection; every write goes through it
	read   *sql.DB // query-only connections

	stmts writeStmts

	// writer is the write lock (a channel, so that waiting for it respects a
	// context); entities is the state it guards besides the writer pool.
	writer   chan struct{}
	entities entityCache

	// corr is Options.Correlator, guarded by the write lock like entities;
	// corrStale is set when corr holds placements of a batch that was not
	// committed, and the next batch rebuilds it first.
	corr      weft.Correlator
	describe  func(DescribeInput) (string, *int, []weft.PriorityFactor)
	corrStale bool
	// assets is the asset inventory in memory (see assetIndex), loaded with
	// the Correlator and guarded by the write lock like it; countsDay is
	// the day whose first batch last pruned detector_counts.
	assets    assetIndex
	countsDay int64
	// filePolicies is Options.TenantPolicies; policyProblems are stored
	// policies that no longer validate (see loadPolicies).
	filePolicies   map[string][]byte
	policyProblems []error
	ownPolicy      map[string]bool // tenants with a stored policy applied
	// cache holds decoded alerts of recently described incidents
	// (alertcache.go); guarded by the write lock.
	cache *alertCache
	// noIncremental makes every batch recompute the aggregates of the
	// incidents it changed from all their alerts rather than with
	// addJoined; tests set it to compare the two, and read incremental,
	// the number of incidents addJoined updated.
	noIncremental bool
	incremental   int
	// dataVersion is the writer connection's PRAGMA data_version when corr
	// was last in step with the file. It changes when another connection —
	// another process, such as "weft ingest --data" beside "weft serve" —
	// commits, and then corr is rebuilt before the next batch.
	dataVersion int64

	ckpt *checkpointer

	// mu is held shared by every call for its duration and exclusively by
	// Close, so that Close waits for in-flight calls and later calls fail
	// with EUNAVAILABLE instead of reaching closed pools.
	mu       sync.RWMutex
	isClosed bool
	closeErr error
}

var _ weft.Store = (*Store)(nil)

// Open opens (creating it if missing) the database file at path, brings its
// schema up to date and makes sure the default tenant exists.
//
// Open refuses a database whose schema is newer than this binary knows, with
// an EUNSUPPORTED error that names both versions, and an Options value it
// cannot honour with EINVALID. Other errors are wrapped driver errors.
func Open(path string, opts Options) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		// An in-memory database would be a different database on every
		// connection of the two pools.
		return nil, weft.Errorf(weft.EINVALID, "sqlite: the database must be a file path, not %q", path)
	}
	synchronous := strings.ToLower(opts.Synchronous)
	switch synchronous {
	case "":
		synchronous = "full"
	case "full", "normal":
	default:
		return nil, weft.Errorf(weft.EINVALID, "sqlite: synchronous must be \"full\" or \"normal\", not %q", opts.Synchronous)
	}
	if opts.ReadConns <= 0 {
		opts.ReadConns = 4
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 10 * time.Second
	}
	if opts.PageSize == 0 {
		opts.PageSize = 4096
	}
	if opts.PageSize < 512 || opts.PageSize > 65536 || opts.PageSize&(opts.PageSize-1) != 0 {
		return nil, weft.Errorf(weft.EINVALID, "sqlite: page size must be a power of two from 512 to 65536, not %d", opts.PageSize)
	}
	if opts.CacheSizeKiB <= 0 {
		opts.CacheSizeKiB = 64 << 10
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}

	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Store{path: abs, now: opts.Now, logger: opts.Logger, writer: make(chan struct{}, 1),
		corr: opts.Correlator, describe: opts.Describe, filePolicies: opts.TenantPolicies, ownPolicy: map[string]bool{}, assets: assetIndex{},
		cache: newAlertCache(defaultAlertCacheAlerts)}
	if s.now == nil {
		s.now = time.Now
	}

	// The writer is opened first: it switches the file to WAL mode, which is
	// persistent, before any reader opens it.
	//
	// The driver applies the _pragma values (in lexicographic order) before
	// the _journal_mode and _synchronous keys, so page_size takes effect on
	// a new file before WAL mode fixes it.
	s.write, err = sql.Open("sqlite", dsn(abs, opts.BusyTimeout, []string{
		"page_size(" + strconv.Itoa(opts.PageSize) + ")",
		"wal_autocheckpoint(" + strconv.Itoa(walLimitBytes/opts.PageSize) + ")", // see checkpoint.go
		"journal_size_limit(" + strconv.Itoa(walLimitBytes) + ")",
		"foreign_keys(1)",
		"temp_store(MEMORY)",
		"cache_size(-" + strconv.Itoa(opts.CacheSizeKiB) + ")",
	}, "&_journal_mode=WAL&_synchronous="+synchronous+"&_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open writer: %w", err)
	}
	s.write.SetMaxOpenConns(1)
	s.write.SetMaxIdleConns(1)
	s.write.SetConnMaxLifetime(0)
	s.write.SetConnMaxIdleTime(0)

	s.read, err = sql.Open("sqlite", dsn(abs, opts.BusyTimeout, []string{
		"foreign_keys(1)",
		"temp_store(MEMORY)",
		"cache_size(-" + strconv.Itoa(max(opts.CacheSizeKiB/4, 2048)) + ")",
	}, "&_query_only=1"))
	if err != nil {
		s.write.Close()
		return nil, fmt.Errorf("sqlite: open readers: %w", err)
	}
	s.read.SetMaxOpenConns(opts.ReadConns)
	s.read.SetMaxIdleConns(opts.ReadConns)
	s.read.SetConnMaxLifetime(0)
	s.read.SetConnMaxIdleTime(0)

	ckpt, err := sql.Open("sqlite", dsn(abs, opts.BusyTimeout, []string{"cache_size(-2048)"}, ""))
	if err != nil {
		s.write.Close()
		s.read.Close()
		return nil, fmt.Errorf("sqlite: open checkpointer: %w", err)
	}
	ckpt.SetMaxOpenConns(1)
	s.ckpt = newCheckpointer(ckpt)

	ctx := context.Background()
	if err := s.open(ctx); err != nil {
		s.ckpt.close()
		s.write.Close()
		s.read.Close()
		return nil, err
	}
	return s, nil
}

// open migrates the schema, creates the default tenant, prepares the write
// statements, completes the entity identifier index of a store created
// before it existed, and rebuilds the Correlator.
func (s *Store) open(ctx context.Context) error {
	if err := migrate(ctx, s.write, migrations, s.now); err != nil {
		return err
	}
	if _, err := s.write.ExecContext(ctx,
		`INSERT INTO tenants (tenant_id, display_name, disabled, created) VALUES (?, ?, 0, ?)
		 ON CONFLICT (tenant_id) DO NOTHING`,
		weft.DefaultTenantID, "Default", s.now().UnixNano()); err != nil {
		return fmt.Errorf("sqlite: create default tenant: %w", err)
	}
	if err := s.stmts.prepare(ctx, s.write); err != nil {
		return err
	}
	// Alerts stored before migration 0010 have their identifiers indexed
	// before anything reads entity pages (entities_backfill.go).
	if err := s.backfillEntityIdentifiers(ctx); err != nil {
		return err
	}
	// Open the first reader now, so that a file the readers cannot open
	// fails Open rather than the first query.
	if err := s.read.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: open readers: %w", err)
	}
	if s.corr != nil {
		// Read the version first: a commit by another process during the
		// rebuild then makes the first batch rebuild again.
		if err := s.write.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&s.dataVersion); err != nil {
			return fmt.Errorf("sqlite: read data version: %w", err)
		}
		if err := s.rebuild(ctx); err != nil {
			return err
		}
	}
	return nil
}

// dsn builds the driver's data source name. The path is written as a file:
// URI so that any character in it (a '?' included) survives; the driver
// consumes the underscore parameters and SQLite ignores them.
func dsn(path string, busy time.Duration, pragmas []string, extra string) string {
	u := url.URL{Scheme: "file", Path: path}
	q := "_pragma=busy_timeout(" + strconv.FormatInt(busy.Milliseconds(), 10) + ")"
	for _, p := range pragmas {
		q += "&_pragma=" + url.QueryEscape(p)
	}
	return u.String() + "?" + q + extra
}

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// Ping checks that both pools can reach the database. After Close it returns
// an EUNAVAILABLE error.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	var one int
	if err := s.read.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("sqlite: ping readers: %w", err)
	}
	if err := s.write.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping writer: %w", err)
	}
	return nil
}

// Close waits for in-flight calls to finish and closes both pools. When the
// last connection closes, SQLite checkpoints the write-ahead log into the
// database file. Close may be called more than once; later calls return the
// first call's result. Calls made after Close fail with EUNAVAILABLE.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isClosed {
		return s.closeErr
	}
	s.isClosed = true
	err1 := s.stmts.close()
	err2 := s.ckpt.close()
	err3 := s.read.Close()
	err4 := s.write.Close()
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		s.closeErr = fmt.Errorf("sqlite: close: %w", err)
	}
	return s.closeErr
}

// enter marks the start of a call; every enter that returns nil is paired
// with a leave. It fails with EUNAVAILABLE once the store is closed.
func (s *Store) enter() error {
	s.mu.RLock()
	if s.isClosed {
		s.mu.RUnlock()
		return weft.Errorf(weft.EUNAVAILABLE, "the store is closed")
	}
	return nil
}

func (s *Store) leave() { s.mu.RUnlock() }

// Times are stored as INTEGER nanoseconds since the Unix epoch. The zero
// time.Time, which has no such representation, is stored as NULL (columns
// that may hold it are nullable) and read back as the zero time.

func nanos(t time.Time) int64 { return t.UnixNano() }

func nullNanos(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func fromNullNanos(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNanos(n.Int64)
	return &t
}
