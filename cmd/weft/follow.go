package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/ingest"
)

// This file is weft ingest --follow: it tails a log of NDJSON alerts that
// another program appends to (Suricata's eve.json, Wazuh's alerts.json) and
// puts each complete line through the same Stream and target as a plain
// ingest. It polls; it needs no file system notifications.
//
// Exactly once. The state file says which file was read (device and inode)
// and the offset just after the last complete line whose batch was stored
// or acknowledged; it is written (to a new file, synced, renamed over the
// old) only after that. A restart goes on from there. A crash between the
// store's commit and the state's write reads that batch again, and the store,
// which is idempotent, answers "duplicate": nothing is stored twice. Only
// whole lines are read: a line still being written waits for its newline.
//
// Rotation. When the path names a new file (the old one renamed and a new
// one created), the old file is read to its end once it has stopped growing
// for one poll, and then the new one from its start. When the file is
// shorter than the offset, or its first bytes are not those read before,
// it was truncated (copytruncate) and is read from its start; lines written
// between the last poll and the copy are in the copy only, which is
// copytruncate's own known loss. If the file was rotated while weft was not
// following it, the old file is looked for by its inode beside the new one
// and finished first; if it is gone, weft says which lines were not read.

// followState is what the state file of weft ingest --follow holds.
type followState struct {
	File    string `json:"file"`    // the path followed, for people reading the state file
	Device  uint64 `json:"device"`  // the identity of the file read (0 where the system has none)
	Inode   uint64 `json:"inode"`   //
	Offset  int64  `json:"offset"`  // just after the last complete line stored or acknowledged
	Line    int    `json:"line"`    // the line number at Offset
	Records int    `json:"records"` // records before Offset, to number the next
	// HeadBytes and Head (SHA-256, hex) fingerprint the file's first bytes,
	// to tell a file truncated and written again past Offset.
	HeadBytes int    `json:"headBytes"`
	Head      string `json:"head"`
	// first holds the file's first bytes (up to headBytes) as this run read
	// them, so that Head fingerprints what was read and stored, not what
	// the file holds when the state is saved: a file truncated and written
	// again just after a batch must not lend the old offset its new head.
	first []byte
}

// headBytes is how many of a file's first bytes its fingerprint covers.
const headBytes = 1024

// follower follows one file.
type follower struct {
	path, statePath string
	poll            time.Duration
	format          ingest.Format
	batch           int
	target          ingestTarget
	sum             *ingestSummary
	prog            *progress
	stderr          io.Writer

	f        *os.File    // the file being read; after a rename, the old one
	st       followState // how far f was read and stored
	rotating bool        // path names another file; f is being finished
	oldSize  int64       // f's size at the last poll while rotating
	failures int         // batches that failed in a row (failed)
}

// defaultStateFile is the state file for path: in the data directory with
// --data (named after the file, and its full path's hash so that two files
// of one name do not share it), else beside the file.
func defaultStateFile(path, dataDir string) string {
	if dataDir == "" {
		return path + ".weft-offset"
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(dataDir, "follow-"+filepath.Base(path)+"-"+hex.EncodeToString(sum[:6])+".offset")
}

// run follows the file until ctx ends; then it returns nil after the batch
// in flight, with the state saved.
func (fw *follower) run(ctx context.Context) error {
	if err := fw.open(ctx); err != nil || fw.f == nil {
		return err
	}
	defer func() { fw.f.Close() }()
	saved, found, err := loadState(fw.statePath)
	if err != nil {
		return err
	}
	if found {
		if err := fw.resume(ctx, saved); err != nil {
			return err
		}
	}
	for {
		if err := fw.drain(ctx, false); err != nil && err != errRetry {
			return err
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(fw.stderr, "weft ingest: stopped at line %d of %s (byte %d); state in %s\n", fw.st.Line, fw.path, fw.st.Offset, fw.statePath)
			return nil
		case <-time.After(fw.poll):
		}
		if err := fw.check(ctx); err != nil {
			return err
		}
	}
}

// open opens the file, waiting for it to appear, and starts its state at
// its beginning. It leaves fw.f nil if ctx ends first.
func (fw *follower) open(ctx context.Context) error {
	said := false
	for {
		f, err := os.Open(fw.path)
		if err == nil {
			return fw.start(f)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if !said {
			fmt.Fprintf(fw.stderr, "weft ingest: waiting for %s to appear\n", fw.path)
			said = true
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(fw.poll):
		}
	}
}

// start makes f the file read, from its beginning.
func (fw *follower) start(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	fw.f, fw.rotating = f, false
	fw.st = followState{File: fw.path, Line: 1}
	fw.st.Device, fw.st.Inode, _ = fileID(fi)
	return nil
}

// resume takes up the saved state of an earlier run.
func (fw *follower) resume(ctx context.Context, saved followState) error {
	fi, err := fw.f.Stat()
	if err != nil {
		return err
	}
	dev, ino, ok := fileID(fi)
	sameFile := ok && dev == saved.Device && ino == saved.Inode || !ok && fw.headMatches(fw.f, saved)
	if sameFile {
		if fi.Size() < saved.Offset || !fw.headMatches(fw.f, saved) {
			fmt.Fprintf(fw.stderr, "weft ingest: %s was truncated since line %d was read; reading it from the start\n", fw.path, saved.Line)
			return fw.save()
		}
		fw.st = saved
		fw.st.File = fw.path
		if b, err := readFirst(fw.f, saved.HeadBytes); err == nil {
			fw.st.first = b // the bytes the saved head fingerprints, just checked
		}
		fmt.Fprintf(fw.stderr, "weft ingest: resuming %s at line %d (byte %d)\n", fw.path, saved.Line, saved.Offset)
		return nil
	}
	if old, name := fw.findOld(saved); old != nil {
		fmt.Fprintf(fw.stderr, "weft ingest: %s was rotated while not followed; finishing the old file, now %s, from line %d\n", fw.path, name, saved.Line)
		current, cur := fw.f, fw.st
		fw.f, fw.st = old, saved
		err := errRetry
		for err == errRetry && ctx.Err() == nil {
			err = fw.drain(ctx, true)
		}
		old.Close()
		fw.f, fw.st = current, cur
		if err != nil || ctx.Err() != nil {
			return err
		}
	} else {
		fmt.Fprintf(fw.stderr, "weft ingest: %s was rotated while not followed and the old file is not beside it: what it held after line %d was not read\n", fw.path, saved.Line)
	}
	fmt.Fprintf(fw.stderr, "weft ingest: reading the new %s from the start\n", fw.path)
	return fw.save()
}

// findOld looks beside the followed file for the file of saved (by device
// and inode) that still holds what saved says was read.
func (fw *follower) findOld(saved followState) (*os.File, string) {
	if saved.Inode == 0 {
		return nil, ""
	}
	dir := filepath.Dir(fw.path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, ""
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if dev, ino, ok := fileID(fi); !ok || dev != saved.Device || ino != saved.Inode || fi.Size() < saved.Offset {
			continue
		}
		name := filepath.Join(dir, e.Name())
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		if fw.headMatches(f, saved) {
			return f, name
		}
		f.Close()
	}
	return nil, ""
}

// check looks for rotation and truncation after a poll.
func (fw *follower) check(ctx context.Context) error {
	cur, err := fw.f.Stat()
	if err != nil {
		return err
	}
	fi, err := os.Stat(fw.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil // renamed, and the new file not there yet: go on with the old
	case err != nil:
		return err
	}
	if !os.SameFile(fi, cur) {
		// Renamed and created anew. The writer may still append to the old
		// file until it reopens its log: finish it once it has stopped
		// growing for a poll.
		if !fw.rotating || cur.Size() != fw.oldSize {
			fw.rotating, fw.oldSize = true, cur.Size()
			return nil
		}
		if err := fw.drain(ctx, true); err != nil || ctx.Err() != nil {
			if err == errRetry {
				return nil // the old file is finished at a later poll
			}
			return err // stopped before the old file's end: the state still names it
		}
		fmt.Fprintf(fw.stderr, "weft ingest: %s was rotated; finished the old file at line %d, reading the new one from the start\n", fw.path, fw.st.Line)
		f, err := os.Open(fw.path)
		if err != nil {
			return err
		}
		fw.f.Close()
		if err := fw.start(f); err != nil {
			return err
		}
		return fw.save()
	}
	if cur.Size() < fw.st.Offset || !fw.headMatches(fw.f, fw.st) {
		fmt.Fprintf(fw.stderr, "weft ingest: %s was truncated after line %d; reading it from the start\n", fw.path, fw.st.Line)
		if err := fw.start(fw.f); err != nil {
			return err
		}
		return fw.save()
	}
	return nil
}

// drain reads f's complete lines from the saved offset to its end (with
// final, its last line too, complete or not: the file is no longer
// written), puts them to the target in batches and saves the state after
// each. It returns when ctx ends, after the batch in flight.
func (fw *follower) drain(ctx context.Context, final bool) error {
	fi, err := fw.f.Stat()
	if err != nil {
		return err
	}
	end := fi.Size()
	if !final {
		if end, err = lastLineEnd(fw.f, fw.st.Offset, end); err != nil {
			return err
		}
	}
	if end <= fw.st.Offset {
		return nil
	}
	base := fw.st.Offset
	var r io.Reader = io.NewSectionReader(fw.f, base, end-base)
	if base == int64(len(fw.st.first)) && base < headBytes {
		r = &headTee{r: r, at: base, first: &fw.st.first}
	}
	st := ingest.NewStream(r, true, fw.format, ingestLimits, time.Now)
	if base > 0 {
		st.Resume(fw.st.Line, fw.st.Records) // from the start, the input's rules hold (a byte order mark)
	}
	for ctx.Err() == nil {
		err := fw.target.put(context.WithoutCancel(ctx), st, fw.batch, fw.sum)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fw.failed(ctx, err)
		}
		fw.failures = 0
		off, line, index := st.Offset()
		fw.st.Offset, fw.st.Line, fw.st.Records = base+off, line, index
		if err := fw.save(); err != nil {
			return err
		}
		fw.prog.update(fw.sum, fw.st.Offset)
	}
	return nil
}

// failed decides what a batch that could not be put means. Input the
// target refuses whatever happens (EINVALID, ETOOLARGE), and a server that
// refuses the token (401) or its role (403), stop the follower. Anything else — the server down or restarting, the network,
// a busy store — is waited out: it says so, waits (the poll interval,
// doubled with each failure in a row, at most maxRetryWait) and returns
// nil, so that the next drain reads again from the last line stored. The
// state never moved past it, so nothing is skipped; a batch the target
// stored before its answer was lost comes back as duplicates, never
// stored twice. It returns errRetry after the wait.
func (fw *follower) failed(ctx context.Context, err error) error {
	err = fmt.Errorf("%s after line %d: %w", fw.path, fw.st.Line, err)
	if code := weft.ErrorCode(err); code == weft.EINVALID || code == weft.ETOOLARGE || isAuthRefusal(err) || ctx.Err() != nil {
		return err
	}
	fw.failures++
	wait := min(fw.poll<<min(fw.failures-1, 16), maxRetryWait)
	fmt.Fprintf(fw.stderr, "weft ingest: %v; trying again in %s\n", err, wait)
	select {
	case <-ctx.Done():
	case <-time.After(wait):
	}
	return errRetry
}

// errRetry says that a batch failed and will be read again from the last
// line stored.
var errRetry = errors.New("the batch will be tried again")

// maxRetryWait is the longest wait between two tries of a batch.
const maxRetryWait = time.Minute

// lastLineEnd returns the offset just after the last newline of f in
// [from, size), or from if there is none: a line still being written waits.
func lastLineEnd(f *os.File, from, size int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for end := size; end > from; {
		start := max(from, end-int64(len(buf)))
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return from, nil
}

// headTee passes a file's bytes through and keeps its first headBytes
// bytes in *first, as they were read.
type headTee struct {
	r     io.Reader
	at    int64 // the file offset of the next byte
	first *[]byte
}

func (t *headTee) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if b := *t.first; t.at == int64(len(b)) && len(b) < headBytes {
		*t.first = append(b, p[:min(n, headBytes-len(b))]...)
	}
	t.at += int64(n)
	return n, err
}

// readFirst returns the first n bytes of f.
func readFirst(f *os.File, n int) ([]byte, error) {
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, 0); err != nil && !(errors.Is(err, io.EOF) && n == 0) {
		return nil, err
	}
	return buf, nil
}

// headMatches reports whether f starts with the bytes whose fingerprint st
// holds (true when nothing was read yet).
func (fw *follower) headMatches(f *os.File, st followState) bool {
	if st.Head == "" {
		return true
	}
	h, err := head(f, st.HeadBytes)
	return err == nil && h == st.Head
}

// head fingerprints the first n bytes of f.
func head(f *os.File, n int) (string, error) {
	buf, err := readFirst(f, n)
	if err != nil {
		return "", err
	}
	return fingerprint(buf), nil
}

// fingerprint is the SHA-256 of b, in hex.
func fingerprint(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// save writes the state file: to a new file, synced, then renamed over the
// old one, so that a crash leaves the old state or the new, never half.
func (fw *follower) save() error {
	if n := int(min(fw.st.Offset, headBytes)); n != fw.st.HeadBytes || fw.st.Head == "" {
		var h string
		if len(fw.st.first) >= n {
			h = fingerprint(fw.st.first[:n]) // what was read and stored
		} else { // read before this run (a file finished after a restart)
			var err error
			if h, err = head(fw.f, n); err != nil {
				return fmt.Errorf("reading the start of %s: %w", fw.path, err)
			}
		}
		fw.st.HeadBytes, fw.st.Head = n, h
	}
	b, err := json.Marshal(fw.st, json.Deterministic(true))
	if err != nil {
		return err
	}
	tmp := fw.statePath + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("writing the state file: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, fw.statePath)
	}
	if err != nil {
		return fmt.Errorf("writing the state file: %w", err)
	}
	return nil
}

// loadState reads a state file; found is false when there is none.
func loadState(path string) (st followState, found bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, false, nil
	}
	if err != nil {
		return st, false, fmt.Errorf("reading the state file: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, false, fmt.Errorf("the state file %s cannot be read (%v); remove it to read the file from the start", path, err)
	}
	if st.Offset < 0 || st.Line < 1 || st.Records < 0 || st.HeadBytes < 0 || st.HeadBytes > headBytes {
		return st, false, fmt.Errorf("the state file %s holds impossible values; remove it to read the file from the start", path)
	}
	return st, true, nil
}

// fileID returns a file's device and inode where the system has them (the
// Unix systems), read by name from what Stat returns so that this file
// builds on every system (syscall.Stat_t exists only on Unix).
func fileID(fi os.FileInfo) (dev, ino uint64, ok bool) {
	v := reflect.ValueOf(fi.Sys())
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return 0, 0, false
	}
	d, i := v.Elem().FieldByName("Dev"), v.Elem().FieldByName("Ino")
	if !d.IsValid() || !i.IsValid() {
		return 0, 0, false
	}
	return asUint(d), asUint(i), true
}

func asUint(v reflect.Value) uint64 {
	if v.CanInt() {
		return uint64(v.Int())
	}
	if v.CanUint() {
		return v.Uint()
	}
	return 0
}
